//! Draws a session's screen into a ratatui buffer for the preview pane,
//! and picks colors the client's terminal can show. The screen is the
//! engine's own model (`engine::Terminal`, fed a hub's `ScreenPreview`),
//! read through its read-only cells, so a preview and an attach cannot
//! disagree.
//!
//! Must not change the screen it draws.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

use crate::engine::{CellColor, ScreenCell, Terminal};

/// The colors a client's terminal can show, judged from its `TERM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// 256 colors and more.
    Full,
    /// The 16 ANSI colors.
    Basic,
    /// No colors: bold and reverse only.
    Mono,
}

impl Palette {
    pub fn for_term(term: &str) -> Palette {
        let term = term.to_ascii_lowercase();
        let full = [
            "256color",
            "truecolor",
            "direct",
            "kitty",
            "alacritty",
            "wezterm",
            "foot",
            "ghostty",
        ];
        let mono = ["dumb", "vt100", "vt102", "vt220", "vt52"];
        if full.iter().any(|t| term.contains(t)) {
            Palette::Full
        } else if term.is_empty() || mono.iter().any(|t| term.starts_with(t)) {
            Palette::Mono
        } else {
            Palette::Basic
        }
    }

    /// A color the terminal can show, as near as it can to `color`.
    pub fn color(self, color: Color) -> Color {
        match (self, color) {
            (Palette::Mono, _) => Color::Reset,
            (Palette::Full, color) => color,
            (Palette::Basic, Color::Indexed(index)) if index < 16 => ANSI[index as usize].0,
            (Palette::Basic, Color::Indexed(index)) => nearest_ansi(indexed_rgb(index)),
            (Palette::Basic, Color::Rgb(r, g, b)) => nearest_ansi((r, g, b)),
            (Palette::Basic, color) => color,
        }
    }
}

/// The 16 ANSI colors with the RGB values xterm gives them.
const ANSI: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

/// The RGB value of a color of xterm's 256-color palette.
fn indexed_rgb(index: u8) -> (u8, u8, u8) {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match index {
        0..16 => ANSI[index as usize].1,
        16..232 => {
            let i = index - 16;
            (
                LEVELS[(i / 36) as usize],
                LEVELS[(i / 6 % 6) as usize],
                LEVELS[(i % 6) as usize],
            )
        }
        _ => {
            let grey = 8 + 10 * (index - 232);
            (grey, grey, grey)
        }
    }
}

fn nearest_ansi((r, g, b): (u8, u8, u8)) -> Color {
    let distance = |(r2, g2, b2): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(r, r2) + d(g, g2) + d(b, b2)
    };
    ANSI.iter()
        .min_by_key(|(_, rgb)| distance(*rgb))
        .map_or(Color::Reset, |(color, _)| *color)
}

/// A screen of `size` showing `contents` (a hub's [`ScreenPreview`]).
///
/// [`ScreenPreview`]: crate::wire::ScreenPreview
pub fn screen_of(size: crate::wire::Size, contents: &[u8]) -> Terminal {
    let mut screen = Terminal::new(size, 0);
    // A preview is a paint: nothing in it asks the terminal anything.
    let (mut shown, mut replies) = (Vec::new(), Vec::new());
    screen.process(contents, &mut shown, &mut replies);
    screen
}

fn color_of(color: CellColor) -> Color {
    match color {
        CellColor::Default => Color::Reset,
        CellColor::Indexed(index) => Color::Indexed(index),
        CellColor::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// A session's screen, cropped to the area it is drawn in: the left
/// columns, and the rows around the cursor when the screen is taller.
pub struct ScreenView<'a> {
    pub screen: &'a Terminal,
    pub palette: Palette,
}

impl ScreenView<'_> {
    fn style_of(&self, cell: &ScreenCell) -> Style {
        let mut style = Style::default()
            .fg(self.palette.color(color_of(cell.fg())))
            .bg(self.palette.color(color_of(cell.bg())));
        let flags = [
            (cell.bold(), Modifier::BOLD),
            (cell.dim(), Modifier::DIM),
            (cell.italic(), Modifier::ITALIC),
            (cell.underline(), Modifier::UNDERLINED),
            (cell.inverse(), Modifier::REVERSED),
            (cell.hidden(), Modifier::HIDDEN),
            (cell.strikeout(), Modifier::CROSSED_OUT),
        ];
        for (on, modifier) in flags {
            if on {
                style = style.add_modifier(modifier);
            }
        }
        style
    }

    /// The first screen row shown: keeps the cursor in view.
    fn first_row(&self, height: u16) -> u16 {
        let rows = self.screen.size().rows;
        let (cursor_row, _) = self.screen.cursor_position();
        if rows <= height {
            return 0;
        }
        (cursor_row + 1).saturating_sub(height).min(rows - height)
    }
}

/// Sets `target` to a cell's text: its character and any combining ones.
fn set_text(target: &mut ratatui::buffer::Cell, cell: &ScreenCell) {
    let combining = cell.combining();
    if combining.is_empty() {
        // Most cells: one character, no allocation.
        let mut buf = [0u8; 4];
        target.set_symbol(cell.character().encode_utf8(&mut buf));
    } else {
        let text: String = std::iter::once(cell.character())
            .chain(combining.iter().copied())
            .collect();
        target.set_symbol(&text);
    }
}

impl Widget for ScreenView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let size = self.screen.size();
        let first = self.first_row(area.height);
        let shown_rows = area.height.min(size.rows.saturating_sub(first));
        let shown_cols = area.width.min(size.cols);
        for y in 0..shown_rows {
            let cells = self.screen.row_cells(first + y);
            for (x, cell) in (0..shown_cols).zip(cells) {
                let width = cell.width();
                // The spacer after a wide character: drawn with it.
                if width == 0 {
                    continue;
                }
                // A wide character that would not fit whole is left out.
                if x + width > shown_cols {
                    break;
                }
                let target = &mut buf[(area.x + x, area.y + y)];
                set_text(target, &cell);
                target.set_style(self.style_of(&cell));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palettes_follow_term() {
        assert_eq!(Palette::for_term("xterm-256color"), Palette::Full);
        assert_eq!(Palette::for_term("screen"), Palette::Basic);
        assert_eq!(Palette::for_term("xterm"), Palette::Basic);
        assert_eq!(Palette::for_term("vt100"), Palette::Mono);
        assert_eq!(Palette::for_term("dumb"), Palette::Mono);
    }

    #[test]
    fn colors_degrade_to_the_nearest_ansi_color() {
        assert_eq!(
            Palette::Basic.color(Color::Rgb(250, 10, 10)),
            Color::LightRed
        );
        assert_eq!(Palette::Basic.color(Color::Indexed(21)), Color::Blue);
        assert_eq!(Palette::Basic.color(Color::Indexed(2)), Color::Green);
        assert_eq!(Palette::Basic.color(Color::Indexed(231)), Color::White);
        assert_eq!(Palette::Basic.color(Color::Indexed(250)), Color::Gray);
        assert_eq!(Palette::Mono.color(Color::Red), Color::Reset);
        assert_eq!(
            Palette::Full.color(Color::Indexed(200)),
            Color::Indexed(200)
        );
    }

    #[test]
    fn a_tall_screen_is_cropped_around_the_cursor_and_wide_characters_stay_whole() {
        let screen = screen_of(
            crate::wire::Size::new(10, 20),
            b"top\r\n\r\n\r\n\r\n\r\n\r\n\r\nnear\r\n\xe4\xb8\xadok$ ",
        );
        let area = Rect::new(0, 0, 5, 3);
        let mut buf = Buffer::empty(area);
        ScreenView {
            screen: &screen,
            palette: Palette::Full,
        }
        .render(area, &mut buf);
        let row = |y: u16| -> String { (0..5).map(|x| buf[(x, y)].symbol().to_string()).collect() };
        assert_eq!(row(0), "     ");
        assert_eq!(row(1), "near ");
        // The wide character covers columns 0 and 1.
        assert_eq!(buf[(0, 2)].symbol(), "中");
        assert_eq!(
            (2..5).map(|x| buf[(x, 2)].symbol()).collect::<String>(),
            "ok$"
        );
    }

    #[test]
    fn colors_attributes_and_combining_characters_come_from_the_model() {
        let screen = screen_of(
            crate::wire::Size::new(2, 10),
            "\x1b[1;38;2;250;10;10mR\x1b[0;4;48;5;21mU\x1b[m e\u{301}\x1b[7;2;3;9m!".as_bytes(),
        );
        let area = Rect::new(0, 0, 10, 2);
        let mut buf = Buffer::empty(area);
        ScreenView {
            screen: &screen,
            palette: Palette::Basic,
        }
        .render(area, &mut buf);
        let red = &buf[(0, 0)];
        assert_eq!(
            (red.symbol(), red.fg, red.bg),
            ("R", Color::LightRed, Color::Reset)
        );
        assert!(red.modifier.contains(Modifier::BOLD));
        let blue = &buf[(1, 0)];
        assert_eq!(
            (blue.bg, blue.modifier),
            (Color::Blue, Modifier::UNDERLINED)
        );
        assert_eq!(buf[(3, 0)].symbol(), "e\u{301}");
        let flags = Modifier::REVERSED | Modifier::DIM | Modifier::ITALIC | Modifier::CROSSED_OUT;
        assert_eq!(buf[(4, 0)].modifier, flags);
        assert_eq!(buf[(5, 0)].symbol(), " ");
    }
}
