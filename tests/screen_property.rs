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
    Bytes(Vec<u8>, bool),
    Marker,
}

impl Queued {
    fn wants_ack(&self) -> bool {
        matches!(self, Queued::Bytes(_, true) | Queued::Marker)
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
                client
                    .queue
                    .push_back(Queued::Bytes(delivery.bytes.to_vec(), delivery.ack));
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
                Queued::Bytes(bytes, ack) => {
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
            // The hub sends a marker when a delivery finds the outbox full;
            // a client waiting for an acknowledgement gets no deliveries.
            Op::FallBehind(n) => {
                if let Some(key) = self.pick(n)
                    && !self.clients[&key].queue.iter().any(Queued::wants_ack)
                {
                    let c = self.clients.get_mut(&key).unwrap();
                    c.queue.push_back(Queued::Marker);
                    let id = c.id;
                    self.table.fell_behind(id);
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
            table: ClientTable::new(Size { rows: 24, cols: 80 }, 100, 20, SizePolicy::Smallest),
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
