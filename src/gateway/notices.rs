//! Hearing the other gateways of a cluster (SPEC 13): listens on the
//! shared PostgreSQL's change notices and has the registry read again each
//! session another gateway changed, or all of them after the listening
//! connection was lost (notices sent meanwhile are gone). Started only
//! with `[cluster]`; one machine has one gateway.
//!
//! Must not change sessions itself: the registry does.

use std::sync::Arc;
use std::time::Duration;

use super::registry::Registry;
use crate::store::notices::{Heard, NoticeListener};

/// How long to wait before listening again after a failure.
const RETRY: Duration = Duration::from_secs(2);

/// Listens until the process ends. `me` is this gateway's name: its own
/// notices are not acted on.
pub fn start(url: String, me: Arc<str>, registry: Registry) {
    tokio::spawn(async move {
        loop {
            match NoticeListener::connect(&url).await {
                Ok(mut listener) => {
                    // Whatever changed before this connection listened.
                    registry.reload_all().await;
                    hear(&mut listener, &me, &registry).await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for the other gateways' changes; trying again");
                }
            }
            tokio::time::sleep(RETRY).await;
        }
    });
}

async fn hear(listener: &mut NoticeListener, me: &str, registry: &Registry) {
    loop {
        match listener.next().await {
            Ok(Heard::Notice(notice)) if notice.from != me => {
                registry.reload(notice.change.session()).await;
            }
            Ok(Heard::Notice(_)) => {}
            Ok(Heard::Lost) => registry.reload_all().await,
            Err(error) => {
                tracing::warn!(%error, "lost the other gateways' change notices");
                return;
            }
        }
    }
}
