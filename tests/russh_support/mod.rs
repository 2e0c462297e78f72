//! A russh client for the tests that need what OpenSSH cannot do: byte-
//! level requests, or a small channel window and buffer so that a client
//! that stops reading backs up to the server at once.

#![allow(dead_code)]

use std::sync::Arc;

use russh::client::{self, Handle};
use russh::keys::{PrivateKeyWithHashAlg, load_secret_key};

use crate::common::Ssh;

pub struct AcceptAnyHost;

impl client::Handler for AcceptAnyHost {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Signs in as `ssh`'s user with the default client settings.
pub async fn connect(ssh: &Ssh) -> Handle<AcceptAnyHost> {
    connect_with(ssh, client::Config::default()).await
}

/// Signs in as `ssh`'s user with `config`.
pub async fn connect_with(ssh: &Ssh, config: client::Config) -> Handle<AcceptAnyHost> {
    let mut handle = client::connect(Arc::new(config), ("127.0.0.1", ssh.port), AcceptAnyHost)
        .await
        .expect("connect");
    let key = load_secret_key(&ssh.key, None).expect("load key");
    let auth = handle
        .authenticate_publickey("whoever", PrivateKeyWithHashAlg::new(Arc::new(key), None))
        .await
        .expect("authenticate");
    assert!(auth.success(), "public key sign-in");
    handle
}
