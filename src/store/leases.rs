//! Leases on session hosts that run on other machines (SPEC 13): which
//! gateway keeps a host's books, for how long, and under which epoch.
//! One row per host (its swarm service). A gateway takes a free or
//! expired lease (bumping the epoch) or renews its own; a write the lease
//! guards carries the epoch and is refused by the database once the
//! epoch has moved on (a gateway that was paused, not dead, cannot write
//! over its successor).
//!
//! Must not decide when to renew (the gateway's `books` does).

use super::error::db;
use super::{Result, SessionId, Store};

/// A held lease, as a guarded write names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub service: String,
    pub gateway: String,
    pub epoch: i64,
}

/// A query of the store's pool, with its arguments.
type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

impl Fence {
    /// Binds the fence as a guarded write's last three parameters
    /// (service, gateway, epoch).
    fn bind_to<'q>(&'q self, query: Query<'q>) -> Query<'q> {
        query
            .bind(&self.service)
            .bind(&self.gateway)
            .bind(self.epoch)
    }
}

impl Store {
    /// Takes `service`'s lease for `gateway` until `now_ms + ttl_ms`, if
    /// it is free, expired or already `gateway`'s; the epoch it is held
    /// under, or `None` while another gateway holds it.
    pub async fn take_lease(
        &self,
        service: &str,
        gateway: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO host_leases (service, gateway, epoch, expires_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (service) DO UPDATE SET \
             epoch = CASE WHEN host_leases.gateway = excluded.gateway \
                     THEN host_leases.epoch ELSE host_leases.epoch + 1 END, \
             gateway = excluded.gateway, expires_at = excluded.expires_at \
             WHERE host_leases.gateway = excluded.gateway OR host_leases.expires_at < $4 \
             RETURNING epoch",
        )
        .bind(service)
        .bind(gateway)
        .bind(now_ms + ttl_ms)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("take a host's lease"))?;
        row.map(|row| sqlx::Row::try_get::<i64, _>(&row, 0))
            .transpose()
            .map_err(db("take a host's lease"))
    }

    /// Forgets `service`'s lease (its host is gone for good).
    pub async fn drop_lease(&self, service: &str) -> Result<()> {
        sqlx::query("DELETE FROM host_leases WHERE service = $1")
            .bind(service)
            .execute(&self.pool)
            .await
            .map_err(db("drop a host's lease"))?;
        Ok(())
    }

    /// [`Store::set_exited`] under `fence`: false when the lease has
    /// moved on (or the session is gone), and nothing is written.
    pub async fn set_exited_fenced(
        &self,
        id: SessionId,
        status: Option<i32>,
        at: i64,
        fence: &Fence,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET state = 'exited', exit_status = $2, last_active_at = $3 \
             WHERE id = $1 AND EXISTS (SELECT 1 FROM host_leases \
             WHERE service = $4 AND gateway = $5 AND epoch = $6)",
        )
        .bind(id.0)
        .bind(status)
        .bind(at);
        let done = fence
            .bind_to(done)
            .execute(&self.pool)
            .await
            .map_err(db("record that the session exited"))?;
        Ok(done.rows_affected() > 0)
    }

    /// [`Store::touch`] under `fence`.
    pub async fn touch_fenced(&self, id: SessionId, at: i64, fence: &Fence) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET last_active_at = $2 WHERE id = $1 AND EXISTS \
             (SELECT 1 FROM host_leases WHERE service = $3 AND gateway = $4 AND epoch = $5)",
        )
        .bind(id.0)
        .bind(at);
        let done = fence
            .bind_to(done)
            .execute(&self.pool)
            .await
            .map_err(db("record session activity"))?;
        Ok(done.rows_affected() > 0)
    }
}

/// An exited session's last screen as stored: its size and the bytes that
/// draw it (`wire::FinalScreen`, which the store does not know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScreen {
    pub rows: u16,
    pub cols: u16,
    pub snapshot: Vec<u8>,
}

impl Store {
    /// Keeps an exited session's last screen for every gateway (written
    /// under `fence`: only the keeper of the host's books writes it).
    pub async fn save_exited_screen(
        &self,
        id: SessionId,
        screen: &StoredScreen,
        fence: &Fence,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO exited_screens (session_id, rows, cols, snapshot) \
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM host_leases \
             WHERE service = $5 AND gateway = $6 AND epoch = $7) \
             ON CONFLICT (session_id) DO UPDATE SET rows = excluded.rows, \
             cols = excluded.cols, snapshot = excluded.snapshot",
        )
        .bind(id.0)
        .bind(i32::from(screen.rows))
        .bind(i32::from(screen.cols))
        .bind(screen.snapshot.clone());
        let done = fence
            .bind_to(done)
            .execute(&self.pool)
            .await
            .map_err(db("keep an exited session's screen"))?;
        Ok(done.rows_affected() > 0)
    }

    /// An exited session's last screen, if one was kept.
    pub async fn exited_screen(&self, id: SessionId) -> Result<Option<StoredScreen>> {
        const CONTEXT: &str = "read an exited session's screen";
        let row =
            sqlx::query("SELECT rows, cols, snapshot FROM exited_screens WHERE session_id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(db(CONTEXT))?;
        let Some(row) = row else {
            return Ok(None);
        };
        use sqlx::Row;
        let size = |i: usize| -> Result<u16> {
            let value: i32 = row.try_get(i).map_err(db(CONTEXT))?;
            Ok(u16::try_from(value).unwrap_or(1).max(1))
        };
        Ok(Some(StoredScreen {
            rows: size(0)?,
            cols: size(1)?,
            snapshot: row.try_get(2).map_err(db(CONTEXT))?,
        }))
    }
}
