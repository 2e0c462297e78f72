//! Writes the session screen's cells (alacritty_terminal's) as bytes a
//! terminal reproduces: the pen (colors and attributes) as SGR, changed
//! only when it differs, and each cell's text.
//!
//! Owns only the encoding of cells. It must not decide which cells go to
//! whom (that is `render.rs`) nor hold state beyond the pen of one write.

use std::io::Write as _;

use alacritty_terminal::grid::Row;
use alacritty_terminal::index::Column;
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::vte::ansi::{Color, NamedColor};

/// The flags that change how a cell's text looks (not its width or wrap).
const STYLE: Flags = Flags::BOLD
    .union(Flags::DIM)
    .union(Flags::ITALIC)
    .union(Flags::ALL_UNDERLINES)
    .union(Flags::INVERSE)
    .union(Flags::HIDDEN)
    .union(Flags::STRIKEOUT);

/// Colors and attributes of a cell's text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Pen {
    fg: Color,
    bg: Color,
    flags: Flags,
}

impl Default for Pen {
    fn default() -> Pen {
        Pen::of(&Cell::default())
    }
}

impl Pen {
    pub fn of(cell: &Cell) -> Pen {
        Pen {
            fg: cell.fg,
            bg: cell.bg,
            flags: cell.flags & STYLE,
        }
    }

    pub fn is_default(&self) -> bool {
        *self == Pen::default()
    }

    pub fn inverse(&self) -> bool {
        self.flags.contains(Flags::INVERSE)
    }

    pub fn underline(&self) -> bool {
        self.flags.intersects(Flags::ALL_UNDERLINES)
    }

    pub fn has_background(&self) -> bool {
        !matches!(self.bg, Color::Named(NamedColor::Background))
    }

    /// The whole pen from a reset: `CSI 0 ; ... m`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\x1b[0");
        for (flag, code) in [
            (Flags::BOLD, &b";1"[..]),
            (Flags::DIM, b";2"),
            (Flags::ITALIC, b";3"),
            (Flags::UNDERLINE, b";4"),
            (Flags::DOUBLE_UNDERLINE, b";4:2"),
            (Flags::UNDERCURL, b";4:3"),
            (Flags::DOTTED_UNDERLINE, b";4:4"),
            (Flags::DASHED_UNDERLINE, b";4:5"),
            (Flags::INVERSE, b";7"),
            (Flags::HIDDEN, b";8"),
            (Flags::STRIKEOUT, b";9"),
        ] {
            if self.flags.contains(flag) {
                out.extend_from_slice(code);
            }
        }
        write_color(out, self.fg, 30, 90, 38);
        write_color(out, self.bg, 40, 100, 48);
        out.push(b'm');
    }

    /// This pen as SGR, as a string (for a saved cursor).
    pub fn sgr(&self) -> String {
        let mut out = Vec::new();
        self.write(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

fn write_color(out: &mut Vec<u8>, color: Color, base: u8, bright: u8, extended: u8) {
    let _ = match color {
        Color::Named(named) => match named as usize {
            index @ 0..8 => write!(out, ";{}", base as usize + index),
            index @ 8..16 => write!(out, ";{}", bright as usize + index - 8),
            // The dim variants come after the specials, in the same order.
            index
                if (NamedColor::DimBlack as usize..=NamedColor::DimWhite as usize)
                    .contains(&index) =>
            {
                write!(
                    out,
                    ";{}",
                    base as usize + index - NamedColor::DimBlack as usize
                )
            }
            _ => Ok(()),
        },
        Color::Indexed(index) => write!(out, ";{extended};5;{index}"),
        Color::Spec(rgb) => write!(out, ";{extended};2;{};{};{}", rgb.r, rgb.g, rgb.b),
    };
}

/// Whether a cell holds text to show (a space counts as none: the screen
/// model cannot tell a printed space from an erased cell).
pub fn has_text(cell: &Cell) -> bool {
    let spacer = cell
        .flags
        .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER);
    let blank = matches!(cell.c, ' ' | '\t' | '\0');
    (!blank && !spacer) || cell.zerowidth().is_some_and(|z| !z.is_empty())
}

/// A cell that shows nothing: no text, no background, no inverse or
/// underline.
pub fn is_blank(cell: &Cell) -> bool {
    let pen = Pen::of(cell);
    !has_text(cell) && !pen.has_background() && !pen.inverse() && !pen.underline()
}

/// Appends a cell's text: its character and any combining ones.
pub fn write_text(cell: &Cell, out: &mut Vec<u8>) {
    let mut buf = [0u8; 4];
    let c = if has_text(cell) { cell.c } else { ' ' };
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    if let Some(zerowidth) = cell.zerowidth() {
        for c in zerowidth {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

/// Columns of `row` worth writing: up to its last cell that shows
/// anything.
fn used_columns(row: &Row<Cell>, width: usize) -> usize {
    let width = width.min(row.len());
    (0..width)
        .rev()
        .find(|&col| !is_blank(&row[Column(col)]))
        .map_or(0, |col| col + 1)
}

/// Writes a row's first `width` columns as a line starting from the default
/// pen: text with SGR changes inline, trailing blanks left out, a wide
/// character cut by the edge left out. Leaves the pen as it was last set.
pub fn write_row(row: &Row<Cell>, width: usize, out: &mut Vec<u8>) {
    let cells = &row[..][..used_columns(row, width)];
    out.reserve(cells.len());
    let mut pen = Pen::default();
    // Every line that scrolls off is written here, so this loop is on
    // the byte path: runs of plain cells (printable ASCII, space included,
    // nothing combined, in the pen already set) are found first and then
    // copied in one go; only the other cells take the general path.
    let mut col = 0;
    while col < cells.len() {
        let run = cells[col..]
            .iter()
            .position(|cell| !plain_in(cell, pen))
            .unwrap_or(cells.len() - col);
        out.extend(cells[col..col + run].iter().map(|cell| cell.c as u8));
        col += run;
        let Some(cell) = cells.get(col) else {
            break;
        };
        col += 1;
        let flags = cell.flags;
        if flags.contains(Flags::WIDE_CHAR_SPACER) {
            continue;
        }
        if cell.fg != pen.fg || cell.bg != pen.bg || flags & STYLE != pen.flags {
            pen = Pen::of(cell);
            pen.write(out);
        }
        let c = cell.c;
        if (' '..='~').contains(&c) && cell.extra.is_none() {
            out.push(c as u8);
        } else if flags.contains(Flags::WIDE_CHAR) && col >= width {
            out.push(b' ');
        } else {
            write_text(cell, out);
        }
    }
}

/// A cell written as its one byte with `pen` already set: printable
/// ASCII (space included), nothing combined, not a wide character's
/// spacer, in exactly that pen.
fn plain_in(cell: &Cell, pen: Pen) -> bool {
    (' '..='~').contains(&cell.c)
        && cell.flags & (STYLE | Flags::WIDE_CHAR_SPACER) == pen.flags
        && cell.fg == pen.fg
        && cell.bg == pen.bg
        && cell.extra.is_none()
}

/// A row's first `width` columns as plain text, trailing blanks left out.
pub fn row_text(row: &Row<Cell>, width: usize) -> String {
    let used = used_columns(row, width);
    let mut out = Vec::with_capacity(used);
    for col in 0..used {
        let cell = &row[Column(col)];
        if !cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
            write_text(cell, &mut out);
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alacritty_terminal::term::cell::Cell;
    use proptest::prelude::*;

    /// The cell-by-cell form `write_row` had before its runs: what it must
    /// still write.
    fn one_cell_at_a_time(row: &Row<Cell>, width: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut pen = Pen::default();
        for (col, cell) in row[..][..used_columns(row, width)].iter().enumerate() {
            if cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
                continue;
            }
            if Pen::of(cell) != pen {
                pen = Pen::of(cell);
                pen.write(&mut out);
            }
            if cell.flags.contains(Flags::WIDE_CHAR) && col + 1 >= width {
                out.push(b' ');
            } else {
                write_text(cell, &mut out);
            }
        }
        out
    }

    fn cell() -> impl Strategy<Value = Cell> {
        let c = prop_oneof![
            6 => proptest::char::range(' ', '~'),
            1 => Just('\0'),
            1 => Just('\t'),
            1 => Just('é'),
        ];
        let color = prop_oneof![
            4 => Just(Color::Named(NamedColor::Foreground)),
            4 => Just(Color::Named(NamedColor::Background)),
            1 => Just(Color::Named(NamedColor::Red)),
            1 => Just(Color::Indexed(200)),
        ];
        let flags = prop_oneof![
            6 => Just(Flags::empty()),
            1 => Just(Flags::BOLD),
            1 => Just(Flags::INVERSE | Flags::UNDERLINE),
        ];
        (c, color.clone(), color, flags).prop_map(|(c, fg, bg, flags)| Cell {
            c,
            fg,
            bg,
            flags,
            ..Cell::default()
        })
    }

    proptest! {
        #[test]
        fn runs_write_what_one_cell_at_a_time_wrote(
            cells in proptest::collection::vec(cell(), 1..40),
            wide_at in proptest::option::of(0usize..39),
            width in 1usize..45,
        ) {
            let mut row: Row<Cell> = Row::new(cells.len());
            for (col, cell) in cells.into_iter().enumerate() {
                row[Column(col)] = cell;
            }
            // A wide character and its spacer, possibly cut by the width.
            if let Some(at) = wide_at.filter(|&at| at + 1 < row.len()) {
                row[Column(at)].c = '漢';
                row[Column(at)].flags |= Flags::WIDE_CHAR;
                row[Column(at + 1)].c = ' ';
                row[Column(at + 1)].flags |= Flags::WIDE_CHAR_SPACER;
            }
            row[Column(0)].push_zerowidth('\u{301}');
            let mut out = Vec::new();
            write_row(&row, width, &mut out);
            prop_assert_eq!(out, one_cell_at_a_time(&row, width));
        }
    }
}
