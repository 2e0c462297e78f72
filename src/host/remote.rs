//! A session host's door for gateways on other machines (a host run as a
//! Swarm task, `foyer session-host --listen`): TCP with mutual TLS, the
//! client's certificate required to chain to the operator's CA; then one
//! route frame naming the owner socket or a session's socket, and the
//! connection spliced to that Unix socket, so everything after is served
//! by the same code as on one machine (`process`, `server`).
//!
//! Must not read the frames after the route, or keep session state.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio_rustls::TlsAcceptor;

use crate::transport::{Route, RouteReply, read_frame, write_frame};
use crate::wire::launch::{owner_socket_path, socket_path};

/// How long a connection may take to finish its TLS handshake and name
/// its route: a peer that stalls is hung up on.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts gateways' connections for `owner`'s host, whose sockets are
/// in `hosts`, until the process ends.
pub(super) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    hosts: PathBuf,
    owner: i64,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let (acceptor, hosts) = (acceptor.clone(), hosts.clone());
                tokio::spawn(async move {
                    if let Err(why) = carry(stream, acceptor, &hosts, owner).await {
                        tracing::warn!(%peer, %why, "refused a gateway connection");
                    }
                });
            }
            Err(error) => {
                // Out of descriptors, most likely: try again shortly.
                tracing::warn!(%error, "cannot accept a gateway connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Authenticates one connection, reads its route and carries its bytes
/// to and from that socket until either side closes.
async fn carry(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    hosts: &Path,
    owner: i64,
) -> Result<(), String> {
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    crate::transport::keep_alive(&stream).map_err(|e| e.to_string())?;
    let handshake = async {
        let mut tls = acceptor
            .accept(stream)
            .await
            .map_err(|error| format!("TLS handshake failed: {error}"))?;
        let route: Route = read_frame(&mut tls)
            .await
            .map_err(|error| format!("no route: {error}"))?;
        Ok::<_, String>((tls, route))
    };
    let (mut tls, route) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| "the TLS handshake and route took too long".to_string())??;
    let path = match route {
        Route::Owner => owner_socket_path(hosts, owner),
        Route::Session(id) => socket_path(hosts, id),
    };
    let Ok(mut socket) = UnixStream::connect(&path).await else {
        let _ = write_frame(&mut tls, &RouteReply::NotFound).await;
        tracing::debug!(?route, "a gateway asked for a socket that is not here");
        return Ok(());
    };
    write_frame(&mut tls, &RouteReply::Connected)
        .await
        .map_err(|e| e.to_string())?;
    // Either side closing ends the connection; an error is a hang-up.
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut socket).await;
    Ok(())
}
