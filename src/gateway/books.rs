//! Whose books a session host is in (SPEC 13): of the gateways that share
//! one PostgreSQL, exactly one records a remote host's sessions' exits,
//! activity and final screens, the holder of the host's lease
//! (`store::leases`). A task takes or renews the lease of every remote
//! host this gateway knows, every [`RENEW`]; a lease not renewed for
//! [`TTL`] is taken over by another gateway under a new epoch. Links ask
//! [`Books::keeper`] before they write, and write under the fence it
//! gives. On one machine (no cluster) every session's books are this
//! gateway's, unfenced.
//!
//! Must not write session records itself (the links do, through the
//! records' writer).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use futures_util::future::BoxFuture;

use crate::store::Store;
use crate::store::leases::Fence;

/// How often leases are renewed.
pub const RENEW: Duration = Duration::from_secs(2);
/// How long a lease lasts without renewal: another gateway takes over
/// after this.
pub const TTL: Duration = Duration::from_secs(6);

/// The leases this gateway holds: epoch, and until when it may act on it.
type Held = HashMap<String, (i64, Instant)>;

/// Who keeps a session's books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keeper {
    /// This gateway; writes go under the fence, if the host is remote.
    Mine(Option<Fence>),
    /// Another gateway.
    Other,
}

/// The leases held, as the links read them. Cheap to clone.
#[derive(Clone)]
pub struct Books {
    gateway: Arc<str>,
    held: watch::Receiver<Held>,
}

/// Where the books task publishes what it holds.
pub struct BooksWriter {
    held: watch::Sender<Held>,
}

impl Books {
    /// The books of a gateway that has not started keeping any yet.
    pub fn new(gateway: Arc<str>) -> (Books, BooksWriter) {
        let (held_tx, held) = watch::channel(Held::new());
        (Books { gateway, held }, BooksWriter { held: held_tx })
    }

    /// Who keeps the books of a host: `service` is its swarm service,
    /// `None` for a host on this machine.
    pub fn keeper(&self, service: Option<&str>) -> Keeper {
        let Some(service) = service else {
            return Keeper::Mine(None);
        };
        match self.held.borrow().get(service) {
            Some((epoch, until)) if Instant::now() < *until => Keeper::Mine(Some(Fence {
                service: service.to_string(),
                gateway: self.gateway.to_string(),
                epoch: *epoch,
            })),
            _ => Keeper::Other,
        }
    }

    /// A receiver that wakes when the leases held change.
    pub fn changes(&self) -> watch::Receiver<Held> {
        self.held.clone()
    }
}

impl BooksWriter {
    /// Takes and renews the leases of the remote hosts `services` names
    /// (the registry's, asked each round), until the process ends.
    pub fn start(
        self,
        store: Store,
        gateway: Arc<str>,
        services: impl Fn() -> BoxFuture<'static, Vec<String>> + Send + 'static,
    ) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RENEW);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let held = renew(&store, &gateway, services().await).await;
                self.held.send_if_modified(|old| {
                    let changed = old.len() != held.len()
                        || held
                            .iter()
                            .any(|(s, (e, _))| old.get(s).map(|(o, _)| o) != Some(e));
                    *old = held;
                    changed
                });
            }
        });
    }
}

/// One round: every remote host's lease taken or renewed if it can be.
async fn renew(store: &Store, gateway: &str, mut services: Vec<String>) -> Held {
    services.sort();
    services.dedup();
    let (now, until) = (crate::clock::unix_now_ms(), Instant::now() + TTL);
    let mut held = Held::new();
    for service in services {
        match store
            .take_lease(&service, gateway, now, TTL.as_millis() as i64)
            .await
        {
            Ok(Some(epoch)) => {
                held.insert(service, (epoch, until));
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%service, %error, "cannot renew a host's lease"),
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_host_is_always_mine_a_remote_one_only_while_its_lease_is_held() {
        let (books, writer) = Books::new("g1".into());
        assert_eq!(books.keeper(None), Keeper::Mine(None));
        assert_eq!(books.keeper(Some("h1")), Keeper::Other);
        let held = Held::from([("h1".to_string(), (3, Instant::now() + TTL))]);
        writer.held.send_replace(held);
        let fence = Fence {
            service: "h1".into(),
            gateway: "g1".into(),
            epoch: 3,
        };
        assert_eq!(books.keeper(Some("h1")), Keeper::Mine(Some(fence)));
        assert_eq!(books.keeper(Some("h2")), Keeper::Other);
        // Past its local expiry (renewals failed): not acted on any more.
        let expired = Held::from([("h1".to_string(), (3, Instant::now()))]);
        writer.held.send_replace(expired);
        assert_eq!(books.keeper(Some("h1")), Keeper::Other);
    }
}
