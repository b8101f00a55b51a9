//! The memory transport and the [`Outbox`] tests read it through.

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::{Mail, MailError, MailTransport};

/// Keeps every mail in an [`Outbox`] instead of sending it: the test default.
#[derive(Clone, Debug, Default)]
pub struct MemoryTransport {
    outbox: Outbox,
}

impl MemoryTransport {
    /// A transport with an empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// The outbox it delivers into.
    pub fn outbox(&self) -> Outbox {
        self.outbox.clone()
    }
}

impl MailTransport for MemoryTransport {
    fn send<'a>(&'a self, _from: &'a str, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        self.outbox.push(mail.clone());
        Box::pin(async { Ok(()) })
    }
}

/// The mails a [`MemoryTransport`] captured, oldest first. Cheap to clone; clones share
/// the same mails.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Shared>,
}

struct Shared {
    mails: Mutex<Vec<Mail>>,
    /// Bumped on every new mail, so waiters wake without polling.
    arrived: watch::Sender<u64>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self {
            inner: Arc::new(Shared {
                mails: Mutex::new(Vec::new()),
                arrived: watch::Sender::new(0),
            }),
        }
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("mails", &self.lock().len())
            .finish()
    }
}

impl Outbox {
    /// Every captured mail, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        self.lock().clone()
    }

    /// Forgets every captured mail.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The newest mail to `to` (compared ignoring ASCII case): at once if one is already
    /// there, otherwise the first to arrive within `timeout`. `None` when none arrived.
    pub async fn wait_for(&self, to: &str, timeout: Duration) -> Option<Mail> {
        // Subscribe before looking, so a mail arriving in between still wakes us.
        let mut arrived = self.inner.arrived.subscribe();
        let wait = async {
            loop {
                if let Some(mail) = self.newest_to(to) {
                    return Some(mail);
                }
                if arrived.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    fn newest_to(&self, to: &str) -> Option<Mail> {
        self.lock()
            .iter()
            .rev()
            .find(|mail| mail.to.eq_ignore_ascii_case(to))
            .cloned()
    }

    fn push(&self, mail: Mail) {
        self.lock().push(mail);
        self.inner.arrived.send_modify(|count| *count += 1);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Mail>> {
        self.inner
            .mails
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
