//! The russh `Handler` for one connection. It holds no verb logic: it
//! hands sign-in to `signin`, remembers each channel's PTY request, starts a task per
//! channel when a shell or exec request arrives, and turns later callbacks
//! (data, window changes, end of input) into events for that task.
//! Port, X11 and agent forwarding are refused with an answer the client
//! understands (SPEC §10), logged, and the connection goes on.
//!
//! Must not block: every callback returns quickly, except that input
//! waits for room in the channel task's bounded queue (back-pressure on
//! this connection only).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tracing::Instrument;

use bytes::Bytes;
use russh::server::{Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet};
use tokio::sync::{mpsc, oneshot};

use super::caller::Caller;
use super::channel::{ChannelEvent, ChannelIo, PtyInfo};
use super::run;
use super::signin::{Gate, SignIn};
use crate::gateway::App;
use crate::wire::Size;

/// Events queued for one channel's task before input waits.
const CHANNEL_EVENTS: usize = 64;

#[derive(Default)]
struct ChannelState {
    pty: Option<PtyInfo>,
    events: Option<mpsc::Sender<ChannelEvent>>,
}

pub struct ConnectionHandler {
    app: Arc<App>,
    peer: SocketAddr,
    signin: SignIn,
    caller: Option<Caller>,
    signed_in: Option<oneshot::Sender<()>>,
    channels: HashMap<ChannelId, ChannelState>,
    /// The connection's log span (peer, then user).
    span: tracing::Span,
}

impl ConnectionHandler {
    /// The handler, and a receiver that fires once the client signed in.
    pub fn new(
        app: Arc<App>,
        gate: Arc<Gate>,
        peer: SocketAddr,
        span: tracing::Span,
    ) -> (Self, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let handler = ConnectionHandler {
            signin: SignIn::new(app.clone(), gate, peer),
            app,
            peer,
            caller: None,
            signed_in: Some(tx),
            channels: HashMap::new(),
            span,
        };
        (handler, rx)
    }

    fn reject() -> Auth {
        Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(&[MethodKind::PublicKey][..])),
            partial_success: false,
        }
    }

    /// Accepts `caller` (or refuses when None).
    fn settle(&mut self, caller: Option<Caller>) -> Auth {
        let Some(caller) = caller else {
            return Self::reject();
        };
        self.span.record("user", caller.user.name.as_str());
        self.caller = Some(caller);
        if let Some(signed_in) = self.signed_in.take() {
            let _ = signed_in.send(());
        }
        Auth::Accept
    }

    /// Logs a refused forwarding request in the connection's span (peer,
    /// user).
    fn refused(&self, what: &str) {
        self.span
            .in_scope(|| tracing::info!(what, "forwarding refused"));
    }

    /// Starts the task that carries out `command` (None: a shell request).
    fn start(
        &mut self,
        channel: ChannelId,
        command: Option<String>,
        session: &mut Session,
    ) -> bool {
        let Some(caller) = self.caller.clone() else {
            return false;
        };
        let state = self.channels.entry(channel).or_default();
        if state.events.is_some() {
            return false;
        }
        let (tx, rx) = mpsc::channel(CHANNEL_EVENTS);
        state.events = Some(tx);
        let mut io = ChannelIo::new(session.handle(), channel, rx, state.pty.clone());
        let app = self.app.clone();
        let span =
            tracing::info_span!(parent: &self.span, "channel", session = tracing::field::Empty);
        tokio::spawn(
            async move {
                let status = run::run_command(app, caller, command, &mut io).await;
                io.finish(status).await;
            }
            .instrument(span),
        );
        true
    }

    async fn send_event(&mut self, channel: ChannelId, event: ChannelEvent) {
        let sender = self.channels.get(&channel).and_then(|s| s.events.clone());
        if let Some(sender) = sender {
            // Fails at once when the task finished or reads no input (it
            // closed its receiver); then the event has nowhere to go.
            let _ = sender.send(event).await;
        }
    }
}

/// A client's terminal size; 0 means unknown (as `ssh -tt` without a local
/// terminal sends), which counts as 80x24.
fn client_size(rows: u32, cols: u32) -> Size {
    let or_default = |value: u32, default: u32| if value == 0 { default } else { value };
    Size::new(or_default(rows, 24), or_default(cols, 80))
}

impl russh::server::Handler for ConnectionHandler {
    type Error = russh::Error;

    /// Called when the client asks to authenticate: from here on, leaving
    /// without signing in is a failed sign-in.
    async fn authentication_banner(&mut self) -> Result<Option<String>, Self::Error> {
        self.signin.attempted();
        Ok(None)
    }

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        self.signin.attempted();
        Ok(Self::reject())
    }

    async fn auth_password(&mut self, _user: &str, _password: &str) -> Result<Auth, Self::Error> {
        self.signin.attempted();
        Ok(Self::reject())
    }

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // Only say "go on" for keys that may sign in, so no signature is
        // asked for keys that would be refused anyway.
        if self.signin.offer(offer.public_key).await {
            Ok(Auth::Accept)
        } else {
            Ok(Self::reject())
        }
    }

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let caller = self.signin.key(key.public_key).await;
        Ok(self.settle(caller))
    }

    async fn auth_openssh_certificate(
        &mut self,
        _user: &str,
        certificate: &russh::keys::Certificate,
    ) -> Result<Auth, Self::Error> {
        let caller = self.signin.certificate(certificate).await;
        Ok(self.settle(caller))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Input is taken from `data` callbacks; the Channel stream is
        // dropped so it cannot fill up and stall the connection.
        self.channels.insert(channel.id(), ChannelState::default());
        drop(channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host_to_connect: &str,
        _port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refused("local port forwarding (direct-tcpip)");
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refused("local socket forwarding (direct-streamlocal)");
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        _address: &str,
        _port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        self.refused("remote port forwarding (tcpip-forward)");
        Ok(false)
    }

    async fn streamlocal_forward(
        &mut self,
        _socket_path: &str,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        self.refused("remote socket forwarding (streamlocal-forward)");
        Ok(false)
    }

    /// Without an answer the client would take the next reply (its PTY's
    /// or its command's) as this one's.
    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refused("X11 forwarding");
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        self.refused("agent forwarding");
        Ok(false)
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let state = self.channels.entry(channel).or_default();
        state.pty = Some(PtyInfo {
            term: term.chars().take(64).collect(),
            size: client_size(rows, cols),
        });
        session.channel_success(channel)?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        _value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.start(channel, None, session) {
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command = String::from_utf8_lossy(data).into_owned();
        if self.start(channel, Some(command), session) {
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::info!(peer = %self.peer, subsystem = %name.chars().take(40).collect::<String>(), "subsystem refused");
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let size = client_size(rows, cols);
        if let Some(pty) = self.channels.get_mut(&channel).and_then(|s| s.pty.as_mut()) {
            pty.size = size;
        }
        self.send_event(channel, ChannelEvent::Resize(size)).await;
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.send_event(channel, ChannelEvent::Data(Bytes::copy_from_slice(data)))
            .await;
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.send_event(channel, ChannelEvent::Eof).await;
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Dropping the sender ends the task's event stream.
        self.channels.remove(&channel);
        Ok(())
    }
}
