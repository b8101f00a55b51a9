//! The file transport: one `.eml` file per mail.

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use futures_util::future::BoxFuture;

use super::{Mail, MailError, MailTransport, random_u64};

/// Writes each mail as an RFC 5322 `.eml` file into a directory (created when missing),
/// named `<unix milliseconds>-<sequence>-<random>.eml` so names are unique and sort by
/// time, and mails of one process sent in the same millisecond sort in order. Mail
/// clients open these files; handy for looking at real mails without an SMTP server.
///
/// A file appears complete or not at all: it is written under a temporary name first.
#[derive(Clone, Debug)]
pub struct FileTransport {
    dir: PathBuf,
}

impl FileTransport {
    /// A transport writing into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory it writes into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Orders the mails one process writes within a millisecond.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl MailTransport for FileTransport {
    fn send<'a>(&'a self, from: &'a str, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            let bytes = eml(from, mail)?;
            let dir = self.dir.clone();
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 1_000_000;
            let name = format!("{millis:013}-{sequence:06}-{:016x}.eml", random_u64());
            tokio::task::spawn_blocking(move || write(&dir, &name, &bytes))
                .await
                .map_err(|e| MailError::retryable("the mail file writer stopped").with_source(e))?
                .map_err(|e| {
                    let message = format!("could not write the mail into {}", self.dir.display());
                    MailError::retryable(message).with_source(e)
                })
        })
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let partial = dir.join(format!(".{name}.partial"));
    fs::write(&partial, bytes)?;
    fs::rename(&partial, dir.join(name)).inspect_err(|_| {
        let _ = fs::remove_file(&partial);
    })
}

#[cfg(feature = "smtp")]
fn eml(from: &str, mail: &Mail) -> Result<Vec<u8>, MailError> {
    Ok(super::smtp::message(from, mail)?.formatted())
}

#[cfg(not(feature = "smtp"))]
fn eml(from: &str, mail: &Mail) -> Result<Vec<u8>, MailError> {
    super::eml::format(from, mail, SystemTime::now())
}
