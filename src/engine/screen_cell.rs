//! A read-only view of the screen model's cells, for drawing a screen
//! outside the engine (the picker's preview): each cell's character,
//! width, colors and attributes, without the model's own types.
//!
//! Must not change the model, nor know how or where a cell is drawn.

use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::vte::ansi::{Color, NamedColor};

/// A cell's color, as a terminal is told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellColor {
    /// The terminal's own foreground or background.
    Default,
    /// A palette color: 0–15 the ANSI colors, then xterm's 256.
    Indexed(u8),
    Rgb(u8, u8, u8),
}

impl CellColor {
    /// As `cells.rs` writes it: the model's dim variants are the ANSI
    /// colors, its other special colors the default.
    fn of(color: Color) -> CellColor {
        let dim = NamedColor::DimBlack as usize..=NamedColor::DimWhite as usize;
        match color {
            Color::Named(named) => match named as usize {
                index @ 0..16 => CellColor::Indexed(index as u8),
                index if dim.contains(&index) => {
                    CellColor::Indexed((index - NamedColor::DimBlack as usize) as u8)
                }
                _ => CellColor::Default,
            },
            Color::Indexed(index) => CellColor::Indexed(index),
            Color::Spec(rgb) => CellColor::Rgb(rgb.r, rgb.g, rgb.b),
        }
    }
}

/// One cell of the screen, read-only.
#[derive(Clone, Copy)]
pub struct ScreenCell<'a>(&'a Cell);

impl<'a> ScreenCell<'a> {
    pub(super) fn of(cell: &'a Cell) -> ScreenCell<'a> {
        ScreenCell(cell)
    }

    /// The character shown: a space in an erased cell and in the spacer
    /// that follows a wide character.
    pub fn character(&self) -> char {
        let spacer = Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER;
        match self.0.c {
            '\t' | '\0' => ' ',
            _ if self.0.flags.intersects(spacer) => ' ',
            c => c,
        }
    }

    /// Combining characters drawn over [`character`](Self::character).
    pub fn combining(&self) -> &'a [char] {
        self.0.zerowidth().unwrap_or(&[])
    }

    /// Columns the character covers: 2 for a wide character, 0 for the
    /// spacer after it, 1 otherwise.
    pub fn width(&self) -> u16 {
        if self.0.flags.contains(Flags::WIDE_CHAR) {
            2
        } else if self.0.flags.contains(Flags::WIDE_CHAR_SPACER) {
            0
        } else {
            1
        }
    }

    pub fn fg(&self) -> CellColor {
        CellColor::of(self.0.fg)
    }

    pub fn bg(&self) -> CellColor {
        CellColor::of(self.0.bg)
    }

    pub fn bold(&self) -> bool {
        self.0.flags.contains(Flags::BOLD)
    }

    pub fn dim(&self) -> bool {
        self.0.flags.contains(Flags::DIM)
    }

    pub fn italic(&self) -> bool {
        self.0.flags.contains(Flags::ITALIC)
    }

    /// Any kind of underline (single, double, curly, dotted, dashed).
    pub fn underline(&self) -> bool {
        self.0.flags.intersects(Flags::ALL_UNDERLINES)
    }

    pub fn inverse(&self) -> bool {
        self.0.flags.contains(Flags::INVERSE)
    }

    pub fn hidden(&self) -> bool {
        self.0.flags.contains(Flags::HIDDEN)
    }

    pub fn strikeout(&self) -> bool {
        self.0.flags.contains(Flags::STRIKEOUT)
    }
}
