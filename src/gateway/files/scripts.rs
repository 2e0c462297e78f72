//! The two helper commands the file view and uploads run as the session's
//! user (`sh`, with GNU `realpath`, `find`, `stat` and `head`: Debian's
//! base, and the default user image's), and how their output reads.
//! The same text runs on this host and inside containers, so one piece
//! of code decides what is inside the working directory everywhere.
//!
//! Must not build a command line from unchecked text: every name reaches
//! the script as its own argument, never inside the script.

use super::names::UploadName;

/// Exit codes the scripts use to say why they refused.
pub const NO_DIRECTORY: i32 = 20;
pub const NOT_FOUND: i32 = 21;
pub const OUTSIDE: i32 = 22;
pub const UNREADABLE: i32 = 23;
pub const TOO_LARGE: i32 = 24;
pub const NOT_A_FILE: i32 = 25;
pub const CANNOT_WRITE: i32 = 31;
pub const NAMES_USED: i32 = 33;

/// `view MAX START PID REL`: from the program's working directory (PID's,
/// when it can be seen) or else START, shows REL: a directory as
/// `foyer-dir\n` ROOT NUL then one `KIND\tSIZE\tMTIME\tNAME` NUL per
/// entry, a file as `foyer-file\n` and its bytes, or a file over MAX as
/// `foyer-big\nSIZE` (exit 24). REL resolved through its links must stay
/// inside the directory.
const VIEW: &str = r#"
max=$1 start=$2 pid=$3 rel=$4
if [ -n "$pid" ] && cd -P -- "/proc/$pid/cwd" 2>/dev/null; then :
elif cd -P -- "$start" 2>/dev/null; then :
else exit 20; fi
root=$(pwd -P)
if [ -z "$rel" ]; then target=$root
else target=$(realpath -e -- "$rel" 2>/dev/null) || exit 21; fi
if [ "$root" != / ]; then
  case $target in "$root"|"$root"/*) ;; *) exit 22;; esac
fi
if [ -d "$target" ]; then
  cd -- "$target" 2>/dev/null && [ -r . ] || exit 23
  printf 'foyer-dir\n%s\0' "$root"
  exec find . -mindepth 1 -maxdepth 1 -printf '%y\t%s\t%T@\t%f\0'
elif [ -f "$target" ]; then
  [ -r "$target" ] || exit 23
  size=$(stat -L -c %s -- "$target") || exit 23
  if [ "$size" -gt "$max" ]; then printf 'foyer-big\n%s' "$size"; exit 24; fi
  printf 'foyer-file\n'
  exec head -c "$max" -- "$target"
else exit 25; fi
"#;

/// `upload HOME SESSION NAME STEM EXT TMP`: saves stdin under
/// HOME/.cache/foyer/uploads/SESSION/ as NAME, or STEM-1EXT, STEM-2EXT, …
/// (never over an existing file: the bytes go to a temporary file first,
/// then are hard-linked to the first free name) and prints the path.
const UPLOAD: &str = r#"
umask 077
home=$1 session=$2 name=$3 stem=$4 ext=$5 tmp=$6
dir=$home/.cache/foyer/uploads/$session
mkdir -p -- "$dir" 2>/dev/null && cd -P -- "$dir" 2>/dev/null || exit 31
set -C
if ! cat > "$tmp" 2>/dev/null; then rm -f -- "$tmp"; exit 31; fi
n=0
while [ $n -le 999 ]; do
  if [ $n -eq 0 ]; then file=$name; else file=$stem-$n$ext; fi
  if ln -- "$tmp" "$file" 2>/dev/null; then
    rm -f -- "$tmp"
    printf '%s/%s' "$(pwd -P)" "$file"
    exit 0
  fi
  if [ ! -e "$file" ] && [ ! -L "$file" ]; then rm -f -- "$tmp"; exit 31; fi
  n=$((n+1))
done
rm -f -- "$tmp"
exit 33
"#;

/// The view command's arguments.
pub fn view_command(max: u64, start: &str, pid: Option<u32>, relative: &str) -> Vec<String> {
    let pid = pid.map(|p| p.to_string()).unwrap_or_default();
    shell(VIEW, [max.to_string(), start.into(), pid, relative.into()])
}

/// The upload command's arguments.
pub fn upload_command(home: &str, session: &str, name: &UploadName) -> Vec<String> {
    let temporary = format!(".foyer-upload-{:016x}", rand::random::<u64>());
    shell(
        UPLOAD,
        [
            home.into(),
            session.into(),
            name.name.clone(),
            name.stem.clone(),
            name.extension.clone(),
            temporary,
        ],
    )
}

fn shell<const N: usize>(script: &str, args: [String; N]) -> Vec<String> {
    let mut argv = vec!["/bin/sh".into(), "-c".into(), script.into(), "sh".into()];
    argv.extend(args);
    argv
}

/// One directory entry as the view command lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entry {
    pub name: String,
    /// `file`, `dir`, `link` or `other`.
    pub kind: &'static str,
    pub size: u64,
    /// Seconds since the epoch.
    pub modified: i64,
}

/// What the view command printed.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Directory { root: String, entries: Vec<Entry> },
    File(Vec<u8>),
    TooLarge { size: u64 },
}

/// Reads the view command's output; `None` when it is not in its form.
pub fn read_view(output: &[u8]) -> Option<Shown> {
    if let Some(rest) = output.strip_prefix(b"foyer-file\n") {
        return Some(Shown::File(rest.to_vec()));
    }
    if let Some(rest) = output.strip_prefix(b"foyer-big\n") {
        let size = std::str::from_utf8(rest).ok()?.trim().parse().ok()?;
        return Some(Shown::TooLarge { size });
    }
    let rest = output.strip_prefix(b"foyer-dir\n")?;
    let mut records = rest.split(|b| *b == 0);
    let root = String::from_utf8_lossy(records.next()?).into_owned();
    let mut entries: Vec<Entry> = records.filter_map(read_entry).collect();
    entries.sort_by(|a, b| (a.kind != "dir", &a.name).cmp(&(b.kind != "dir", &b.name)));
    Some(Shown::Directory { root, entries })
}

/// `KIND\tSIZE\tMTIME\tNAME` (the name may hold tabs).
fn read_entry(record: &[u8]) -> Option<Entry> {
    let text = String::from_utf8_lossy(record);
    let mut fields = text.splitn(4, '\t');
    let kind = match fields.next()? {
        "f" => "file",
        "d" => "dir",
        "l" => "link",
        _ => "other",
    };
    let size = fields.next()?.parse().ok()?;
    let modified = fields.next()?.split('.').next()?.parse().ok()?;
    let name = fields.next()?.to_string();
    Some(Entry {
        name,
        kind,
        size,
        modified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_reads_with_directories_first() {
        let output = b"foyer-dir\n/home/a\0f\t5\t1700000000.5\tb.txt\0d\t4096\t1700000001.0\tz\0l\t3\t1\tli\tnk\0";
        let Some(Shown::Directory { root, entries }) = read_view(output) else {
            panic!("not a directory");
        };
        assert_eq!(root, "/home/a");
        let names: Vec<_> = entries.iter().map(|e| (e.kind, e.name.as_str())).collect();
        assert_eq!(names, [("dir", "z"), ("file", "b.txt"), ("link", "li\tnk")]);
        assert_eq!(entries[1].modified, 1_700_000_000);
    }

    #[test]
    fn files_and_refusals_read() {
        assert_eq!(
            read_view(b"foyer-file\n\0ab"),
            Some(Shown::File(b"\0ab".to_vec()))
        );
        assert_eq!(
            read_view(b"foyer-big\n12"),
            Some(Shown::TooLarge { size: 12 })
        );
        assert_eq!(read_view(b"other"), None);
    }
}
