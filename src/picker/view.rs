//! Draws the picker: a title line, the session list, the live preview of
//! the selected session, a footer of keys (or a notice), and the open
//! dialog. Fits any size down to [`MIN_COLS`]x[`MIN_ROWS`] and says so
//! below that.
//!
//! Must not change what the picker shows, only how; the one thing it
//! writes back is how many rows a page key moves.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use super::preview::{Palette, ScreenView};
use super::rows::{attention_line, who_text};
use super::state::{Dialog, Picker, SessionRow, idle_text};
use crate::engine::Terminal;

pub const MIN_COLS: u16 = 40;
pub const MIN_ROWS: u16 = 10;
/// From this width the preview sits beside the list, not below it.
const SIDE_BY_SIDE_COLS: u16 = 100;
/// From this height (and below [`SIDE_BY_SIDE_COLS`]) the preview sits
/// below the list; under it there is no room for a preview.
const STACKED_ROWS: u16 = 18;
/// From this width the list shows ACCESS.
const ACCESS_COLS: u16 = 46;
/// From this width the list shows WHO (who is attached).
const WHO_COLS: u16 = 54;
/// The narrowest list beside a preview: WHO always fits, with room for a
/// few names (SPEC §6 lists who is attached at every width from 80 up).
const SIDE_LIST_COLS: u16 = 60;

/// Everything a frame is drawn from, beside the picker itself.
pub struct Scene<'a> {
    /// The selected session's screen, when known.
    pub preview: Option<&'a Terminal>,
    pub palette: Palette,
    /// Seconds since the Unix epoch, for idle times.
    pub now: i64,
}

/// The styles of the picker's own parts, by palette.
struct Styles {
    title: Style,
    header: Style,
    selected: Style,
    attention: Style,
    exited: Style,
    dim: Style,
    key: Style,
    error: Style,
}

impl Styles {
    fn new(palette: Palette) -> Styles {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let color = |c: Color| Style::default().fg(palette.color(c));
        let selected = match palette {
            Palette::Full => Style::default()
                .bg(Color::Indexed(24))
                .fg(Color::Indexed(231)),
            Palette::Basic => Style::default().bg(Color::Blue).fg(Color::White),
            Palette::Mono => Style::default().add_modifier(Modifier::REVERSED),
        };
        Styles {
            title: bold,
            header: bold.add_modifier(Modifier::UNDERLINED),
            selected,
            attention: color(Color::Yellow).add_modifier(Modifier::BOLD),
            exited: match palette {
                Palette::Mono => Style::default().add_modifier(Modifier::DIM),
                _ => color(Color::DarkGray),
            },
            dim: Style::default().add_modifier(Modifier::DIM),
            key: color(Color::Cyan).add_modifier(Modifier::BOLD),
            error: color(Color::Red).add_modifier(Modifier::BOLD),
        }
    }
}

/// Draws the whole picker into `frame`.
pub fn draw(frame: &mut Frame, picker: &mut Picker, scene: &Scene) {
    let area = frame.area();
    if area.width < MIN_COLS || area.height < MIN_ROWS {
        draw_too_small(frame, area);
        return;
    }
    let styles = Styles::new(scene.palette);
    let [title, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_title(frame, picker, &styles, title);
    let (list, preview) = split_body(body);
    picker.page = usize::from(list.height.saturating_sub(2)).max(1);
    draw_list(frame, picker, scene, &styles, list);
    if let Some(preview) = preview {
        draw_preview(frame, picker, scene, &styles, preview);
    }
    draw_footer(frame, picker, &styles, footer);
    if let Some(dialog) = picker.dialog() {
        draw_dialog(frame, picker, dialog, &styles, area);
    }
}

fn draw_too_small(frame: &mut Frame, area: Rect) {
    let text = format!(
        "foyer needs a terminal of at least {MIN_COLS}x{MIN_ROWS} (this one is {}x{}). q quits.",
        area.width, area.height
    );
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

/// The list's area and, when there is room, the preview's.
fn split_body(body: Rect) -> (Rect, Option<Rect>) {
    if body.width >= SIDE_BY_SIDE_COLS {
        let list_width = (body.width / 2).max(SIDE_LIST_COLS);
        let [list, preview] =
            Layout::horizontal([Constraint::Length(list_width), Constraint::Fill(1)]).areas(body);
        (list, Some(preview))
    } else if body.height >= STACKED_ROWS {
        let [list, preview] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Fill(1)]).areas(body);
        (list, Some(preview))
    } else {
        (body, None)
    }
}

fn draw_title(frame: &mut Frame, picker: &Picker, styles: &Styles, area: Rect) {
    let count = picker.visible().count();
    let right = if picker.filtering || !picker.filter.is_empty() {
        format!("/{}  {count} shown ", picker.filter)
    } else {
        let plural = if count == 1 { "" } else { "s" };
        format!("{count} session{plural} ")
    };
    let left = Line::from(vec![
        Span::styled(" foyer", styles.title),
        Span::styled(format!("  {}", picker.user), styles.dim),
    ]);
    frame.render_widget(left, area);
    let width = (right.chars().count() as u16).min(area.width);
    let right_area = Rect::new(area.right() - width, area.y, width, 1);
    frame.render_widget(Line::from(right), right_area);
    if picker.filtering && picker.dialog().is_none() {
        let x = right_area.x + 1 + picker.filter.chars().count() as u16;
        frame.set_cursor_position(Position::new(x.min(area.right() - 1), area.y));
    }
}

fn draw_list(frame: &mut Frame, picker: &Picker, scene: &Scene, styles: &Styles, area: Rect) {
    let rows: Vec<&SessionRow> = picker.visible().collect();
    if rows.is_empty() {
        let text = if picker.filter.is_empty() {
            "No sessions yet. Press n to start one."
        } else {
            "No session matches the filter. Esc clears it."
        };
        let hint = Paragraph::new(text)
            .style(styles.dim)
            .wrap(Wrap { trim: true });
        frame.render_widget(hint, area.inner(ratatui::layout::Margin::new(1, 1)));
        return;
    }
    let area = match picker
        .selected()
        .and_then(|row| attention_line(row, scene.now))
    {
        Some(line) if area.height > 4 => {
            let [list, below] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
            frame.render_widget(Paragraph::new(line).style(styles.attention), below);
            list
        }
        _ => area,
    };
    let wide = area.width >= ACCESS_COLS;
    let widest = area.width >= WHO_COLS;
    let mut header = vec!["", "NAME", "STATE"];
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Fill(2),
        Constraint::Length(11),
    ];
    if wide {
        header.push("ACCESS");
        widths.push(Constraint::Length(6));
    }
    if widest {
        header.push("WHO");
        widths.push(Constraint::Fill(1));
    }
    header.push("IDLE");
    widths.push(Constraint::Length(4));
    let table_rows = rows
        .iter()
        .map(|row| list_row(row, scene.now, wide, widest, styles));
    let table = Table::new(table_rows, widths)
        .header(Row::new(header).style(styles.header))
        .column_spacing(1)
        .row_highlight_style(styles.selected);
    let mut state = TableState::default().with_selected(picker.selected_index());
    frame.render_stateful_widget(table, area, &mut state);
}

fn list_row<'a>(row: &SessionRow, now: i64, wide: bool, widest: bool, styles: &Styles) -> Row<'a> {
    let mark = if row.attention {
        Cell::from(Span::styled("!", styles.attention))
    } else {
        Cell::from(" ")
    };
    let state = match (row.running, row.exit_status) {
        (true, _) if row.unreachable => Cell::from(Span::styled("unreachable", styles.exited)),
        (true, _) if row.paused => Cell::from("paused"),
        (true, _) => Cell::from("running"),
        (false, Some(status)) => {
            Cell::from(Span::styled(format!("exited {status}"), styles.exited))
        }
        (false, None) => Cell::from(Span::styled("exited", styles.exited)),
    };
    let mut cells = vec![mark, Cell::from(row.label.clone()), state];
    if wide {
        cells.push(Cell::from(row.access.name()));
    }
    if widest {
        cells.push(Cell::from(who_text(row)));
    }
    cells.push(Cell::from(idle_text(now - row.last_active)));
    Row::new(cells)
}

fn draw_preview(frame: &mut Frame, picker: &Picker, scene: &Scene, styles: &Styles, area: Rect) {
    let Some(row) = picker.selected() else {
        return;
    };
    let state = match (row.running, row.exit_status) {
        (true, _) if row.unreachable => "unreachable".to_string(),
        (true, _) if row.paused => "paused".to_string(),
        (true, _) => "running".to_string(),
        (false, Some(status)) => format!("exited {status}"),
        (false, None) => "exited".to_string(),
    };
    let size = scene
        .preview
        .map(|screen| {
            let size = screen.size();
            format!(" {}x{}", size.cols, size.rows)
        })
        .unwrap_or_default();
    let block = Block::new()
        .borders(Borders::TOP | Borders::LEFT)
        .border_style(styles.dim)
        .title(Line::from(vec![
            Span::styled(format!(" {} ", row.label), styles.title),
            Span::styled(format!("{state}{size} "), styles.dim),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(screen) = scene.preview {
        frame.render_widget(
            ScreenView {
                screen,
                palette: scene.palette,
            },
            inner,
        );
    }
}

fn draw_footer(frame: &mut Frame, picker: &Picker, styles: &Styles, area: Rect) {
    let line = if let Some(notice) = &picker.notice {
        Line::from(Span::styled(format!(" {notice}"), styles.title))
    } else if picker.filtering {
        keys_line(
            &[("type", "to filter"), ("↵", "done"), ("Esc", "clear")],
            styles,
        )
    } else {
        keys_line(
            &[
                ("↵", "attach"),
                ("w", "watch"),
                ("n", "new"),
                ("K", "kill"),
                ("s", "share"),
                ("/", "filter"),
                ("?", "help"),
                ("q", "quit"),
            ],
            styles,
        )
    };
    frame.render_widget(line, area);
}

fn keys_line<'a>(keys: &[(&'a str, &'a str)], styles: &Styles) -> Line<'a> {
    let mut spans = Vec::new();
    for (key, what) in keys {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(*key, styles.key));
        spans.push(Span::raw(format!(" {what} ")));
    }
    Line::from(spans)
}

/// A box of `width` x `height` in the middle of `area`, never larger.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

fn draw_dialog(frame: &mut Frame, picker: &Picker, dialog: &Dialog, styles: &Styles, area: Rect) {
    let (title, lines, cursor) = dialog_content(picker, dialog, styles);
    let height = lines.len() as u16 + 2;
    let width = 64.min(area.width.saturating_sub(2));
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(Span::styled(format!(" {title} "), styles.title));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some((line, column)) = cursor {
        let x = (inner.x + column).min(inner.right().saturating_sub(1));
        let y = inner.y + line;
        if y < inner.bottom() {
            frame.set_cursor_position(Position::new(x, y));
        }
    }
}

/// A dialog's title, its lines, and where the text cursor goes (line and
/// column inside the dialog), if it takes text.
type DialogContent<'a> = (String, Vec<Line<'a>>, Option<(u16, u16)>);

fn dialog_content<'a>(picker: &Picker, dialog: &Dialog, styles: &Styles) -> DialogContent<'a> {
    match dialog {
        Dialog::Help => ("keys".into(), help_lines(picker, styles), None),
        Dialog::Share {
            label,
            user,
            write,
            error,
            ..
        } => {
            let access = if *write {
                "write (types into it)"
            } else {
                "read (watches)"
            };
            let mut lines = vec![
                Line::from(format!("Share {label} with: {}", tail(user, 40))),
                Line::from(vec![
                    Span::raw("Access: "),
                    Span::styled(access, styles.title),
                    Span::styled("  Tab switches", styles.dim),
                ]),
                error_line(error, styles),
                Line::from(Span::styled("↵ share · Esc cancel", styles.dim)),
            ];
            lines.retain(|l| !l.spans.is_empty());
            let column = (format!("Share {label} with: ").chars().count()
                + tail(user, 40).chars().count()) as u16;
            ("share".into(), lines, Some((0, column)))
        }
        Dialog::ConfirmKill { label, .. } => (
            "kill".into(),
            vec![
                Line::from(format!("Kill {label}? Its program is ended.")),
                Line::from(vec![
                    Span::styled("y", styles.key),
                    Span::raw(" kill · any other key keeps it"),
                ]),
            ],
            None,
        ),
        Dialog::NewName { name, error } => {
            let mut lines = vec![
                Line::from(format!("Name: {}", tail(name, 50))),
                error_line(error, styles),
                Line::from(Span::styled("↵ next · Esc cancel", styles.dim)),
            ];
            lines.retain(|l| !l.spans.is_empty());
            let column = 6 + tail(name, 50).chars().count() as u16;
            ("new session".into(), lines, Some((0, column)))
        }
        Dialog::NewCommand {
            name,
            selected,
            typing,
            error,
        } => new_command_content(picker, name, *selected, typing.as_deref(), error, styles),
    }
}

fn new_command_content<'a>(
    picker: &Picker,
    name: &str,
    selected: usize,
    typing: Option<&str>,
    error: &Option<String>,
    styles: &Styles,
) -> DialogContent<'a> {
    let mut lines = vec![Line::from(format!("Start {name} with:"))];
    let mut labels: Vec<String> = picker.choices.iter().map(|c| c.label.clone()).collect();
    if picker.commands_allowed {
        labels.push("a command…".into());
    }
    for (index, label) in labels.into_iter().enumerate() {
        let style = if index == selected && typing.is_none() {
            styles.selected
        } else {
            Style::default()
        };
        lines.push(Line::from(Span::styled(format!(" {label} "), style)));
    }
    let mut cursor = None;
    if let Some(command) = typing {
        cursor = Some((
            lines.len() as u16,
            9 + tail(command, 50).chars().count() as u16,
        ));
        lines.push(Line::from(format!("Command: {}", tail(command, 50))));
    }
    lines.push(error_line(error, styles));
    lines.retain(|l| !l.spans.is_empty());
    let hint = if typing.is_some() {
        "↵ start · Esc back"
    } else {
        "↑↓ choose · ↵ start · Esc back"
    };
    lines.push(Line::from(Span::styled(hint, styles.dim)));
    ("new session".into(), lines, cursor)
}

fn error_line<'a>(error: &Option<String>, styles: &Styles) -> Line<'a> {
    match error {
        Some(error) => Line::from(Span::styled(error.clone(), styles.error)),
        None => Line::default(),
    }
}

/// The last `max` characters of a field, so the cursor end stays visible.
fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(max)).collect()
}

fn help_lines<'a>(picker: &Picker, styles: &Styles) -> Vec<Line<'a>> {
    let keys = [
        ("↑ ↓  j k", "move"),
        ("↵", "attach (read-only where you may only read)"),
        ("w", "watch read-only"),
        ("n", "new session: a name, then a preset or a command"),
        ("K", "kill the selected session (asks first)"),
        ("s", "share with a user (Tab: read or write)"),
        ("/", "filter by name or command"),
        ("Ctrl-L", "redraw"),
        ("q  Esc", "quit"),
    ];
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!("{key:<9}"), styles.key),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::from(format!(
        "In a session, {} d comes back here.",
        picker.prefix_name
    )));
    lines.push(Line::from(Span::styled("any key closes", styles.dim)));
    lines
}
