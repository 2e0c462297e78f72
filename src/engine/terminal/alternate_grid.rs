//! The model's alternate-screen grid, given back while the main screen is
//! up.
//!
//! `alacritty_terminal` allocates both grids in `Term::new`: 80 × 24 cells
//! of 24 bytes, about 45 KiB each. The alternate one matters only while a
//! program (vim, less, htop) has the alternate screen up, and most
//! sessions never do, so on the main screen it is swapped for a one-cell
//! grid, and a full one is put back before the model is next fed or
//! resized. Only the crate's public API is used (`Term::swap_alt`,
//! `Term::grid_mut`, `Grid::new`), and only where the swap shows nothing:
//!
//! - an inactive alternate grid's cells are never read: entering the
//!   alternate screen (`swap_alt`) clears them and takes the main
//!   screen's cursor, and resizing or a reset only reshape them;
//! - what `swap_alt` changes besides the grids is restored: the main
//!   screen's saved cursor (entering overwrites it), the alternate one's
//!   saved cursor (kept across the swap), and the keyboard-mode stacks and
//!   the mode bit (swapped twice, so back as they were).
//!
//! Must not be called while the alternate screen is up: the functions
//! check and do nothing then.

use alacritty_terminal::grid::{Dimensions, Grid};

use super::Terminal;

impl Terminal {
    /// Swaps the alternate grid for a one-cell one, on the main screen.
    pub(super) fn shrink_alternate_grid(&mut self) {
        if self.alternate_grid_shrunk || self.alternate_screen() {
            return;
        }
        self.replace_alternate_grid(1, 1);
        self.alternate_grid_shrunk = true;
    }

    /// Puts back a full alternate grid, before the model changes.
    pub(super) fn restore_alternate_grid(&mut self) {
        if !self.alternate_grid_shrunk {
            return;
        }
        let grid = self.model.grid();
        let (rows, cols) = (grid.screen_lines(), grid.columns());
        self.replace_alternate_grid(rows, cols);
        self.alternate_grid_shrunk = false;
    }

    fn replace_alternate_grid(&mut self, rows: usize, cols: usize) {
        debug_assert!(!self.alternate_screen());
        let main_saved_cursor = self.model.grid().saved_cursor.clone();
        self.model.swap_alt();
        let alternate = self.model.grid_mut();
        let mut replacement = Grid::new(rows, cols, 0);
        replacement.saved_cursor = alternate.saved_cursor.clone();
        *alternate = replacement;
        self.model.swap_alt();
        self.model.grid_mut().saved_cursor = main_saved_cursor;
    }
}
