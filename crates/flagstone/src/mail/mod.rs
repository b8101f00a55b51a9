//! The mailer: templates, and transports for SMTP, logs, memory and `.eml` files.
//!
//! A [`Mailer`] renders a [`Mail`] from a named [`MailTemplate`] and sends it. [`Mailer::send`]
//! never blocks the caller: delivery runs on a spawned task, each attempt bounded by a
//! timeout, retryable failures retried with exponential backoff, and a final failure
//! logged (recipient and subject only; bodies carry tokens). [`Mailer::deliver`] does the
//! same in the foreground and returns the outcome.
//!
//! ```
//! use std::time::Duration;
//!
//! use flagstone::mail::{Mailer, VERIFY_EMAIL};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> flagstone::Result<()> {
//! let (mailer, outbox) = Mailer::memory();
//! let link = "https://app.example.com/verify-email?token=abc";
//! let vars = [("link", link), ("expires_in", "24 hours")];
//! mailer.send(mailer.render(VERIFY_EMAIL, "ada@example.com", &vars)?);
//!
//! let mail = outbox.wait_for("ada@example.com", Duration::from_secs(1)).await.unwrap();
//! assert_eq!(mail.subject, "Confirm your email address");
//! assert!(mail.text.contains(link));
//! # Ok(())
//! # }
//! ```
//!
//! The transport comes from `[mail]` in the configuration ([`Mailer::from_config`]):
//!
//! | transport | type | for |
//! | --- | --- | --- |
//! | `log` | [`LogTransport`] | development (the default): logs each mail, body and tokens included |
//! | `memory` | [`MemoryTransport`] | tests (the test profile's default): read mails with [`Outbox`] |
//! | `file` | [`FileTransport`] | one `.eml` file per mail in `mail.dir` |
//! | `smtp` | `SmtpTransport` | production: an SMTP server at `mail.smtp_url` (cargo feature `smtp`) |
//!
//! Any other destination is a [`MailTransport`] implementation away.

mod file;
mod mailer;
mod memory;
mod message;
#[cfg(feature = "smtp")]
mod smtp;
mod template;
mod transport;

#[cfg(any(not(feature = "smtp"), test))]
mod eml;

pub use file::FileTransport;
pub use mailer::Mailer;
pub use memory::{MemoryTransport, Outbox};
pub use message::Mail;
#[cfg(feature = "smtp")]
pub use smtp::SmtpTransport;
pub use template::{MailTemplate, PASSWORD_CHANGED, RESET_PASSWORD, VERIFY_EMAIL};
pub use transport::{LogTransport, MailError, MailTransport};

/// 64 random bits from the OS, or from the clock and a counter if the OS has none to give:
/// for backoff jitter and unique names, never for secrets.
fn random_u64() -> u64 {
    use std::{
        hash::{BuildHasher, RandomState},
        sync::atomic::{AtomicU64, Ordering},
        time::{SystemTime, UNIX_EPOCH},
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    getrandom::u64().unwrap_or_else(|_| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        RandomState::new().hash_one((nanos, COUNTER.fetch_add(1, Ordering::Relaxed)))
    })
}

/// A new `Message-ID` value, `<random@domain>`, in the domain of the `from` address.
fn message_id(from: &str) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim_end_matches(['>', ' ']))
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_graphic() && b != b'>'))
        .unwrap_or("localhost");
    format!("<{:016x}{:016x}@{domain}>", random_u64(), random_u64())
}
