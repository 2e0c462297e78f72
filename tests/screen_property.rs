//! Property: whatever the program prints, and however clients attach,
//! detach, resize, fall behind and catch up, once every delivery has been
//! written each client's terminal shows the server's screen within its
//! viewport (and blank beyond the PTY's size). And a client waiting for an
//! acknowledgement (a paint or a marker not yet written) is sent nothing
//! more until it comes: that is what keeps a slow client's outbox bounded
//! however fast the program prints or its clients resize.
//!
//! Drives the real `ClientTable` (the hub's pure core); each client's
//! terminal is an alacritty_terminal screen (the model the server uses, so
//! what is tested is foyer's sync, not two emulators' differences) of the
//! client's size fed the bytes it got.

use alacritty_terminal::event::VoidListener;
use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::term::test::TermSize;
use alacritty_terminal::term::{Config, Term};
use alacritty_terminal::vte::ansi::{Color, NamedColor, Processor};
use foyer::engine::terminal::NoSyncBuffering;
use std::collections::{BTreeMap, VecDeque};

use foyer::engine::ClientTable;
use foyer::engine::Delivery;
use foyer::engine::terminal::HistoryMark;
use foyer::wire::ClientId;
use foyer::wire::Role;
use foyer::wire::Size;
use foyer::wire::SizePolicy;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Output(Vec<u8>),
    Attach {
        writer: bool,
        rows: u16,
        cols: u16,
    },
    Detach(usize),
    Resize {
        client: usize,
        rows: u16,
        cols: u16,
    },
    /// Write everything queued for one client.
    Flush(usize),
    /// The hub found the client's outbox full.
    FallBehind(usize),
    /// A synchronized frame stayed open past `sync_timeout`.
    SyncTimeout,
}

fn output_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-zA-Z0-9 ]{1,30}".prop_map(|s| s.into_bytes()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just("界面宽字".as_bytes().to_vec()),
        (0u8..8).prop_map(|c| format!("\x1b[3{c}m").into_bytes()),
        Just(b"\x1b[1;4;7m".to_vec()),
        Just(b"\x1b[0m".to_vec()),
        Just(b"\x1b[48;5;200m".to_vec()),
        (1u16..40, 1u16..120).prop_map(|(r, c)| format!("\x1b[{r};{c}H").into_bytes()),
        Just(b"\x1b[2J".to_vec()),
        Just(b"\x1b[K".to_vec()),
        Just(b"\x1b[3L".to_vec()),
        Just(b"\x1b[2M".to_vec()),
        Just(b"\x1b[?1049h".to_vec()),
        // Restoring a saved cursor (`ESC 8`, leaving the alternate screen)
        // is generated only right after its save: vt100 moves saved cursors
        // on resize in ways the hub follows only for the active screen (see
        // docs/architecture.md, "Known limits").
        Just(b"\x1b[?1049h\x1b[3;3Halt\x1b[?1049l".to_vec()),
        Just(b"\x1b7\x1b[2;2Hx\x1b8".to_vec()),
        Just(b"\x1b7".to_vec()),
        Just(b"\x1b[?2026h".to_vec()),
        Just(b"\x1b[?2026l".to_vec()),
        Just(b"\x1b[?25l".to_vec()),
        Just(b"\x1b[?25h".to_vec()),
        Just(b"\x1b[5;10r".to_vec()),
        Just(b"\x1b[r".to_vec()),
        Just(b"\x08\x08\t".to_vec()),
        Just(b"\x1b[6n".to_vec()),
        // Random bytes, minus ESC (random escapes would restore cursors).
        proptest::collection::vec(any::<u8>().prop_filter("no ESC", |b| *b != 0x1b), 1..12),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => proptest::collection::vec(output_piece(), 1..12).prop_map(|pieces| Op::Output(pieces.concat())),
        2 => (any::<bool>(), 2u16..40, 2u16..120).prop_map(|(writer, rows, cols)| Op::Attach { writer, rows, cols }),
        1 => (0usize..8).prop_map(Op::Detach),
        2 => (0usize..8, 2u16..40, 2u16..120).prop_map(|(client, rows, cols)| Op::Resize { client, rows, cols }),
        3 => (0usize..8).prop_map(Op::Flush),
        1 => (0usize..8).prop_map(Op::FallBehind),
        1 => Just(Op::SyncTimeout),
    ]
}

enum Queued {
    /// Bytes, whether they want an ack, and for the program's raw bytes
    /// where the scrollback stood when they began.
    Bytes(Vec<u8>, bool, Option<HistoryMark>),
    Marker,
}

impl Queued {
    fn wants_ack(&self) -> bool {
        matches!(self, Queued::Bytes(_, true, _) | Queued::Marker)
    }
}

struct Client {
    id: ClientId,
    size: Size,
    terminal: ClientTerminal,
    queue: VecDeque<Queued>,
}

/// A client's terminal, without synchronized-output support (it shows
/// bytes as they come, as the hub's model does).
struct ClientTerminal {
    term: Term<VoidListener>,
    parser: Processor<NoSyncBuffering>,
}

impl ClientTerminal {
    fn new(rows: u16, cols: u16) -> ClientTerminal {
        let size = TermSize::new(cols.into(), rows.into());
        ClientTerminal {
            term: Term::new(Config::default(), &size, VoidListener),
            parser: Processor::new(),
        }
    }

    fn process(&mut self, bytes: &[u8]) {
        self.parser.advance(&mut self.term, bytes);
    }

    fn resize(&mut self, rows: u16, cols: u16) {
        self.term.resize(TermSize::new(cols.into(), rows.into()));
    }

    fn cell(&self, row: u16, col: u16) -> &Cell {
        &self.term.grid()[Line(row.into())][Column(col.into())]
    }

    fn cursor_position(&self) -> (u16, u16) {
        let point = self.term.grid().cursor.point;
        (point.line.0 as u16, point.column.0 as u16)
    }

    fn contents(&self) -> String {
        let grid = self.term.grid();
        (0..grid.screen_lines())
            .map(|line| {
                let row = &grid[Line(line as i32)];
                (0..grid.columns())
                    .map(|col| row[Column(col)].c)
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

struct World {
    table: ClientTable,
    clients: BTreeMap<usize, Client>,
    next: u64,
}

impl World {
    fn route(&mut self, deliveries: Vec<Delivery>) {
        for delivery in deliveries {
            if let Some(client) = self.clients.values_mut().find(|c| c.id == delivery.client) {
                assert!(
                    !client.queue.iter().any(Queued::wants_ack),
                    "a delivery queued behind an unacknowledged one"
                );
                client.queue.push_back(Queued::Bytes(
                    delivery.bytes.to_vec(),
                    delivery.ack,
                    delivery.history_from,
                ));
            }
        }
    }

    fn pick(&self, n: usize) -> Option<usize> {
        let keys: Vec<usize> = self.clients.keys().copied().collect();
        (!keys.is_empty()).then(|| keys[n % keys.len()])
    }

    fn flush(&mut self, key: usize) {
        loop {
            let client = self.clients.get_mut(&key).unwrap();
            let Some(item) = client.queue.pop_front() else {
                return;
            };
            let ack = match item {
                Queued::Bytes(bytes, ack, _) => {
                    client.terminal.process(&bytes);
                    ack
                }
                Queued::Marker => true,
            };
            if ack {
                let id = client.id;
                let mut out = Vec::new();
                self.table.acked(id, &mut out);
                self.route(out);
            }
        }
    }

    fn apply(&mut self, op: Op) {
        let mut out = Vec::new();
        match op {
            Op::Output(bytes) => {
                let mut replies = Vec::new();
                self.table.output(&bytes, &mut out, &mut replies);
            }
            Op::Attach { writer, rows, cols } => {
                let id = ClientId(self.next);
                self.next += 1;
                let role = if writer { Role::Writer } else { Role::Observer };
                let size = Size { rows, cols };
                let terminal = ClientTerminal::new(rows, cols);
                self.clients.insert(
                    id.0 as usize,
                    Client {
                        id,
                        size,
                        terminal,
                        queue: VecDeque::new(),
                    },
                );
                self.table.attach(id, role, size, &mut out);
            }
            Op::Detach(n) => {
                if let Some(key) = self.pick(n) {
                    let client = self.clients.remove(&key).unwrap();
                    self.table.detach(client.id, &mut out);
                }
            }
            Op::Resize { client, rows, cols } => {
                if let Some(key) = self.pick(client) {
                    let size = Size { rows, cols };
                    let c = self.clients.get_mut(&key).unwrap();
                    c.size = size;
                    c.terminal.resize(rows, cols);
                    let id = c.id;
                    self.table.resize(id, size, &mut out);
                }
            }
            Op::Flush(n) => {
                if let Some(key) = self.pick(n) {
                    self.flush(key);
                }
            }
            Op::SyncTimeout => self.table.give_up_sync_frame(&mut out),
            // The hub sends a marker when a delivery finds the outbox full
            // (that delivery, the newest, is not queued); a client waiting
            // for an acknowledgement gets no deliveries.
            Op::FallBehind(n) => {
                if let Some(key) = self.pick(n)
                    && !self.clients[&key].queue.iter().any(Queued::wants_ack)
                {
                    let c = self.clients.get_mut(&key).unwrap();
                    let from = match c.queue.back() {
                        Some(Queued::Bytes(_, false, Some(from))) => {
                            let from = *from;
                            c.queue.pop_back();
                            Some(from)
                        }
                        _ => None,
                    };
                    c.queue.push_back(Queued::Marker);
                    let id = c.id;
                    self.table.fell_behind(id, from);
                }
            }
        }
        self.route(out);
    }

    fn settle(&mut self) {
        // A frame still open is flushed by the hub's timeout.
        let mut out = Vec::new();
        self.table.give_up_sync_frame(&mut out);
        self.route(out);
        for _ in 0..10 {
            let keys: Vec<usize> = self.clients.keys().copied().collect();
            for key in keys {
                self.flush(key);
            }
        }
    }
}

type Visible = (String, Color, Color, bool, bool, bool);

fn has_text(cell: &Cell) -> bool {
    !matches!(cell.c, ' ' | '\t')
        && !cell
            .flags
            .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
}

/// What a person sees of a cell: attributes of an empty cell show only
/// through its background (or inverse video).
fn visible(cell: &Cell) -> Visible {
    let inverse = cell.flags.contains(Flags::INVERSE);
    if has_text(cell) {
        (
            cell.c.to_string(),
            cell.fg,
            cell.bg,
            cell.flags.contains(Flags::BOLD),
            cell.flags.intersects(Flags::ALL_UNDERLINES),
            inverse,
        )
    } else if inverse {
        (String::new(), cell.fg, cell.bg, false, false, true)
    } else {
        (
            String::new(),
            Color::Named(NamedColor::Foreground),
            cell.bg,
            false,
            false,
            false,
        )
    }
}

/// A wide character whose right half is gone shows as a blank (a terminal
/// clears both halves; the server's renderer writes it as a space).
fn shown_cell(cell: &Cell, next: Option<&Cell>) -> Visible {
    let orphan = cell.flags.contains(Flags::WIDE_CHAR)
        && !next.is_some_and(|n| n.flags.contains(Flags::WIDE_CHAR_SPACER));
    if orphan {
        let mut blank = cell.clone();
        blank.c = ' ';
        blank.flags.remove(Flags::WIDE_CHAR);
        return visible(&blank);
    }
    visible(cell)
}

fn check(world: &World) -> Result<(), TestCaseError> {
    let server = world.table.terminal();
    let pty = world.table.pty_size();
    for client in world.clients.values() {
        let shown = &client.terminal;
        let rows = client.size.rows.min(pty.rows);
        let cols = client.size.cols.min(pty.cols);
        for row in 0..client.size.rows {
            for col in 0..client.size.cols {
                let got = shown.cell(row, col);
                if row >= rows || col >= cols {
                    prop_assert!(
                        !has_text(got),
                        "client {:?} shows text beyond the PTY at {row},{col}",
                        client.id
                    );
                    continue;
                }
                let want = server.cell(row, col);
                // A wide character cut by the viewport's edge shows as a blank.
                if want.flags.contains(Flags::WIDE_CHAR) && col + 1 == cols && cols < pty.cols {
                    continue;
                }
                let got_next = (col + 1 < client.size.cols).then(|| shown.cell(row, col + 1));
                let want_next = (col + 1 < pty.cols).then(|| server.cell(row, col + 1));
                prop_assert_eq!(
                    shown_cell(got, got_next),
                    shown_cell(want, want_next),
                    "client {:?} ({}x{}, pty {}x{}) differs at {},{}\nclient:\n{}\nserver:\n{}",
                    client.id,
                    client.size.rows,
                    client.size.cols,
                    pty.rows,
                    pty.cols,
                    row,
                    col,
                    shown.contents(),
                    server.contents()
                );
            }
        }
        let (cursor_row, cursor_col) = server.cursor_position();
        if client.size == pty && cursor_col < pty.cols {
            prop_assert_eq!(
                shown.cursor_position(),
                (cursor_row, cursor_col),
                "cursor of {:?}",
                client.id
            );
        }
    }
    Ok(())
}

proptest! {
    // A fixed seed keeps CI repeatable; explore more with
    // PROPTEST_CASES=20000 and a different PROPTEST_RNG_SEED.
    #![proptest_config(ProptestConfig {
        cases: 1000,
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("PROPTEST_RNG_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x0f0e_7e11),
        ),
        .. ProptestConfig::default()
    })]

    #[test]
    fn every_client_shows_the_server_screen(ops in proptest::collection::vec(op(), 1..40)) {
        let mut world = World {
            table: ClientTable::new(Size { rows: 24, cols: 80 }, (100, 20), SizePolicy::Smallest, 1 << 19),
            clients: BTreeMap::new(),
            next: 0,
        };
        for op in ops {
            world.apply(op);
        }
        world.settle();
        check(&world)?;
    }
}

/// The client's terminal's history then its screen, a line a row, with
/// each line's first cell's foreground (trailing blanks left out, empty
/// rows dropped).
fn history_and_screen(terminal: &ClientTerminal) -> Vec<(String, Color)> {
    let grid = terminal.term.grid();
    let first = -(grid.history_size() as i32);
    (first..grid.screen_lines() as i32)
        .map(|line| {
            let row = &grid[Line(line)];
            let text: String = (0..grid.columns()).map(|c| row[Column(c)].c).collect();
            (text.trim_end().to_string(), row[Column(0)].fg)
        })
        .filter(|(text, _)| !text.is_empty())
        .collect()
}

/// Numbered lines, each in a color of its own (1 to 6 in turn).
fn numbered(from: usize, to: usize) -> Vec<u8> {
    (from..=to)
        .flat_map(|n| format!("\x1b[3{}m{n}\x1b[m\r\n", n % 6 + 1).into_bytes())
        .collect()
}

/// Fails with the first difference (the lists are long).
fn assert_in_order(key: usize, got: &[usize], want: &[usize]) {
    if let Some(at) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        let around = |list: &[usize]| list[at.saturating_sub(3)..(at + 3).min(list.len())].to_vec();
        panic!(
            "client {key}: line {at} differs: got {:?}, want {:?} ({} vs {} lines)",
            around(got),
            around(want),
            got.len(),
            want.len()
        );
    }
}

/// The numbered lines a client can have: every one up to the last on the
/// server's screen within the client's rows.
fn expected_numbers(world: &World, key: usize) -> Vec<usize> {
    let rows = world.clients[&key]
        .size
        .rows
        .min(world.table.pty_size().rows);
    let server = world.table.terminal();
    let last = (0..rows)
        .filter_map(|row| {
            let text: String = (0..server.size().cols)
                .map(|col| server.cell(row, col).c)
                .collect();
            text.trim().parse::<usize>().ok()
        })
        .max()
        .unwrap_or(0);
    (1..=last).collect()
}

/// The numbered lines in the server's scrollback and on its screen.
fn scrollback_numbers(table: &mut ClientTable) -> Vec<usize> {
    table
        .terminal_mut()
        .capture_rows(100_000, false)
        .iter()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

fn color_of(n: usize) -> Color {
    let named = [
        NamedColor::Red,
        NamedColor::Green,
        NamedColor::Yellow,
        NamedColor::Blue,
        NamedColor::Magenta,
        NamedColor::Cyan,
    ];
    Color::Named(named[n % 6])
}

/// A world of three clients: one that keeps up, one of the PTY's size
/// that falls behind again and again, one smaller (always painted).
fn slow_world() -> (World, [usize; 3]) {
    let mut world = World {
        table: ClientTable::new(
            Size { rows: 10, cols: 40 },
            (5000, 0),
            SizePolicy::Smallest,
            1 << 19,
        ),
        clients: BTreeMap::new(),
        next: 0,
    };
    for (writer, rows, cols) in [(true, 10, 40), (false, 10, 40), (false, 6, 30)] {
        world.apply(Op::Attach { writer, rows, cols });
    }
    (world, [0, 1, 2])
}

/// Every line the program printed reaches each client's own history, in
/// order and once, with its color: the client that keeps up by the raw
/// bytes, the one that fell behind and the painted one by catching up.
#[test]
fn clients_that_fall_behind_get_every_line_into_their_history() {
    let (mut world, [fast, slow, small]) = slow_world();
    for block in 0..40 {
        let from = block * 50 + 1;
        world.apply(Op::Output(numbered(from, from + 49)));
        world.apply(Op::Flush(fast));
        if block % 3 == 0 {
            world.apply(Op::FallBehind(slow));
        }
        if block % 4 == 1 {
            world.apply(Op::Flush(slow));
        }
        if block % 5 == 2 {
            world.apply(Op::Flush(small));
        }
    }
    world.settle();
    for key in [fast, slow, small] {
        let lines = history_and_screen(&world.clients[&key].terminal);
        let numbers: Vec<usize> = lines.iter().map(|(t, _)| t.parse().unwrap()).collect();
        assert_in_order(key, &numbers, &expected_numbers(&world, key));
        for (text, color) in &lines {
            assert_eq!(
                *color,
                color_of(text.parse().unwrap()),
                "client {key}: {text}"
            );
        }
    }
    assert!(check(&world).is_ok(), "every screen equals the server's");
}

/// Lines printed before a program took the alternate screen reach a
/// client that was behind once the program leaves it, and the screen it
/// ends on is the program's exact one.
#[test]
fn lines_owed_across_the_alternate_screen_arrive_in_order() {
    let (mut world, [_, slow, small]) = slow_world();
    world.apply(Op::Output(numbered(1, 300)));
    world.apply(Op::FallBehind(slow));
    world.apply(Op::Output(numbered(301, 400)));
    world.apply(Op::Output(
        b"\x1b[?1049h\x1b[H\x1b[2Jfull screen app".to_vec(),
    ));
    world.settle();
    assert!(check(&world).is_ok(), "the alternate screen is shown");
    world.apply(Op::Output(b"\x1b[?1049l".to_vec()));
    world.apply(Op::Output(numbered(401, 450)));
    world.apply(Op::Output(
        b"\x1b[?1049h\x1b[2;3Hlast frame\x1b[?25l".to_vec(),
    ));
    world.settle();
    assert!(check(&world).is_ok(), "the final alternate screen is exact");
    assert_eq!(scrollback_numbers(&mut world.table).len(), 441);
    for key in [slow, small] {
        // The history is the main screen's: look at it.
        let terminal = &mut world.clients.get_mut(&key).unwrap().terminal;
        terminal.process(b"\x1b[?1049l");
        let lines = history_and_screen(terminal);
        let numbers: Vec<usize> = lines.iter().filter_map(|(t, _)| t.parse().ok()).collect();
        // Every line in the server's scrollback (the last ones printed
        // are on its main screen, shown when the program leaves).
        assert_in_order(key, &numbers, &scrollback_numbers(&mut world.table));
    }
}
