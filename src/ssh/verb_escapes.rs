//! The escapes `send` understands in its text (`\n`, `\xHH`, ...).
//!
//! Must not know about sessions or the connection: bytes in, bytes out.

/// Decodes `send` escapes: `\n`, `\r`, `\t`, `\e`, `\\`, `\xHH`. An
/// unknown escape is kept as written.
pub fn decode_escapes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let (decoded, used) = match bytes[i + 1] {
            b'n' => (Some(b'\n'), 2),
            b'r' => (Some(b'\r'), 2),
            b't' => (Some(b'\t'), 2),
            b'e' => (Some(0x1b), 2),
            b'\\' => (Some(b'\\'), 2),
            b'x' => match bytes
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
            {
                Some(hex) => (u8::from_str_radix(hex, 16).ok(), 4),
                None => (None, 0),
            },
            _ => (None, 0),
        };
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += used;
            }
            None => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    out
}
