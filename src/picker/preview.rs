//! Draws a session's screen (a `vt100::Screen`) into a ratatui buffer for
//! the preview pane, and picks colors the client's terminal can show.
//!
//! tui-term would draw the screen, but it is built on vt100 0.16 while the
//! hub uses 0.18, and its `Screen` trait hands out references to cells, so
//! adapting 0.18's cells to it would take unsafe casts. Drawing cells is a
//! short loop, so it lives here.
//!
//! Must not change the screen it draws.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

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
pub fn screen_of(size: crate::wire::Size, contents: &[u8]) -> vt100::Parser {
    let nonzero = |v: u16| std::num::NonZeroU16::new(v.max(1)).unwrap_or(std::num::NonZeroU16::MIN);
    let mut parser = vt100::Parser::new(nonzero(size.rows), nonzero(size.cols), 0);
    parser.process(contents);
    parser
}

fn vt100_color(color: vt100::Color) -> Color {
    match color {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(index) => Color::Indexed(index),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// A session's screen, cropped to the area it is drawn in: the left
/// columns, and the rows around the cursor when the screen is taller.
pub struct ScreenView<'a> {
    pub screen: &'a vt100::Screen,
    pub palette: Palette,
}

impl ScreenView<'_> {
    fn style_of(&self, cell: &vt100::Cell) -> Style {
        let mut style = Style::default()
            .fg(self.palette.color(vt100_color(cell.fgcolor())))
            .bg(self.palette.color(vt100_color(cell.bgcolor())));
        let flags = [
            (cell.bold(), Modifier::BOLD),
            (cell.dim(), Modifier::DIM),
            (cell.italic(), Modifier::ITALIC),
            (cell.underline(), Modifier::UNDERLINED),
            (cell.inverse(), Modifier::REVERSED),
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
        let (rows, _) = self.screen.size();
        let (cursor_row, _) = self.screen.cursor_position();
        let rows = rows.get();
        if rows <= height {
            return 0;
        }
        (cursor_row + 1).saturating_sub(height).min(rows - height)
    }
}

impl Widget for ScreenView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (rows, cols) = self.screen.size();
        let first = self.first_row(area.height);
        let shown_rows = area.height.min(rows.get().saturating_sub(first));
        let shown_cols = area.width.min(cols.get());
        for y in 0..shown_rows {
            let mut x = 0;
            while x < shown_cols {
                let Some(cell) = self.screen.cell(first + y, x) else {
                    break;
                };
                let wide = cell.is_wide();
                // A wide character that would not fit whole is left out.
                if wide && x + 1 >= shown_cols {
                    break;
                }
                let target = &mut buf[(area.x + x, area.y + y)];
                let text = cell.contents();
                target.set_symbol(if text.is_empty() { " " } else { text });
                target.set_style(self.style_of(cell));
                x += if wide { 2 } else { 1 };
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
        let parser = screen_of(
            crate::wire::Size::new(10, 20),
            b"top\r\n\r\n\r\n\r\n\r\n\r\n\r\nnear\r\n\xe4\xb8\xadok$ ",
        );
        let area = Rect::new(0, 0, 5, 3);
        let mut buf = Buffer::empty(area);
        ScreenView {
            screen: parser.screen(),
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
}
