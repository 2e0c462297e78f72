//! Who may connect to a session host's sockets: processes of the host's
//! own user (the gateway that started it runs as that user) and root,
//! asked of the kernel (`SO_PEERCRED`) for each connection. The hosts
//! directory (0700) and the sockets (0600) keep other users out already;
//! this check keeps them out should those modes be loosened (a changed
//! mode, a copied directory), since a connection may attach to any of the
//! user's sessions and type into it.
//!
//! Must not read from or write to the connection.

use tokio::net::UnixStream;

/// Why a connection is refused, or `None` when its peer may use the host.
pub(super) fn refusal(stream: &UnixStream) -> Option<String> {
    let own = nix::unistd::geteuid().as_raw();
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == own || peer.uid() == 0 => None,
        Ok(peer) => Some(format!(
            "uid {} (pid {}) is not the server's user (uid {own})",
            peer.uid(),
            peer.pid().map_or("unknown".to_string(), |p| p.to_string())
        )),
        Err(error) => Some(format!("the kernel did not say who connected: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_of_the_hosts_own_user_is_let_in() {
        let (one, _other) = UnixStream::pair().unwrap();
        assert_eq!(refusal(&one), None);
    }
}
