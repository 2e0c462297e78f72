//! A ratatui backend for a remote terminal: it turns each frame into the
//! escape sequences (written by crossterm) that draw it, collected in
//! memory for the driver to send over the connection. The size is the
//! client's, as its PTY request and window changes said, never a local
//! terminal's.
//!
//! Must not do I/O: the driver takes the bytes with [`ChannelBackend::take_output`].

use std::io;

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size as Area};

use crate::wire::Size;

pub struct ChannelBackend {
    inner: CrosstermBackend<Vec<u8>>,
    size: Size,
    cursor: Position,
}

impl ChannelBackend {
    pub fn new(size: Size) -> Self {
        ChannelBackend {
            inner: CrosstermBackend::new(Vec::new()),
            size,
            cursor: Position::ORIGIN,
        }
    }

    /// The client's terminal changed size; the next draw repaints all.
    pub fn set_size(&mut self, size: Size) {
        self.size = size;
    }

    /// Adds bytes of the driver's own (mode switches) to the output.
    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.inner.writer_mut().extend_from_slice(bytes);
    }

    /// The bytes written since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(self.inner.writer_mut())
    }
}

impl Backend for ChannelBackend {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.cursor = position.into();
        self.inner.set_cursor_position(self.cursor)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Area> {
        Ok(Area::new(self.size.cols, self.size.rows))
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize {
            columns_rows: Area::new(self.size.cols, self.size.rows),
            pixels: Area::new(0, 0),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
