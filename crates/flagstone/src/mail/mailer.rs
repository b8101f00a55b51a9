//! The [`Mailer`] handle: templates, retries, and sending in the background.

use std::{any::Any, collections::HashMap, fmt, sync::Arc, time::Duration};

use super::{
    FileTransport, LogTransport, Mail, MailError, MailTemplate, MailTransport, MemoryTransport,
    Outbox, random_u64, template,
};
use crate::{
    Error, Result,
    config::{MailConfig, MailTransportKind},
};

/// The first pause between attempts; it doubles after each failed retry.
const DEFAULT_BACKOFF: Duration = Duration::from_millis(200);
/// The longest pause between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The handle apps and the account flows send mails through: a transport, the `From`
/// mailbox, the templates, and the retry policy. Cheap to clone.
///
/// By default it makes up to 1 + 3 attempts per mail, each bounded by 10 s, pausing about
/// 200 ms, 400 ms, 800 ms (± 20 %) in between.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    transport: Arc<dyn MailTransport>,
    from: String,
    retries: u32,
    timeout: Duration,
    backoff: Duration,
    templates: HashMap<String, MailTemplate>,
    outbox: Option<Outbox>,
}

impl Mailer {
    /// The mailer `[mail]` describes: its transport, `from`, `timeout` and `retries`.
    ///
    /// Fails when `from` is not a valid mailbox (checked when the `smtp` feature is on), or
    /// for `transport = "smtp"` when `smtp_url` is missing or unusable, or when Flagstone
    /// was built without its `smtp` feature.
    pub fn from_config(config: &MailConfig) -> Result<Self> {
        #[cfg(feature = "smtp")]
        super::smtp::mailbox(&config.from, "the sender")
            .map_err(|e| Error::internal(format!("mail.from: {e}")))?;
        let mailer = match config.transport {
            MailTransportKind::Log => Self::new(LogTransport, config.from.clone()),
            MailTransportKind::Memory => Self::new(MemoryTransport::new(), config.from.clone()),
            MailTransportKind::File => {
                Self::new(FileTransport::new(&config.dir), config.from.clone())
            }
            MailTransportKind::Smtp => {
                let url = config.smtp_url.as_ref().ok_or_else(|| {
                    Error::internal("mail.smtp_url is required when mail.transport = \"smtp\"")
                })?;
                #[cfg(feature = "smtp")]
                {
                    let transport = super::SmtpTransport::from_url(url.expose(), config.timeout)?;
                    Self::new(transport, config.from.clone())
                }
                #[cfg(not(feature = "smtp"))]
                {
                    let _ = url;
                    return Err(Error::internal(
                        "mail.transport = \"smtp\" needs Flagstone's `smtp` cargo feature, \
                         which this build lacks",
                    ));
                }
            }
        };
        Ok(mailer.with_retries(config.retries, config.timeout))
    }

    /// A mailer sending through `transport` from the `from` mailbox, such as
    /// `App <no-reply@example.com>`, with the built-in templates and the default retries.
    pub fn new(transport: impl MailTransport, from: impl Into<String>) -> Self {
        let outbox = (&transport as &dyn Any)
            .downcast_ref::<MemoryTransport>()
            .map(MemoryTransport::outbox);
        let templates = template::builtin()
            .into_iter()
            .map(|(name, template)| (name.to_owned(), template))
            .collect();
        Self {
            inner: Arc::new(Inner {
                transport: Arc::new(transport),
                from: from.into(),
                retries: 3,
                timeout: Duration::from_secs(10),
                backoff: DEFAULT_BACKOFF,
                templates,
                outbox,
            }),
        }
    }

    /// A mailer keeping its mails in memory, and the [`Outbox`] to read them from: for
    /// tests.
    pub fn memory() -> (Self, Outbox) {
        let transport = MemoryTransport::new();
        let outbox = transport.outbox();
        (
            Self::new(transport, "Flagstone <no-reply@localhost>"),
            outbox,
        )
    }

    /// The outbox, when the transport is the memory one: how tests of an app built from
    /// its configuration read the mails it sent.
    pub fn outbox(&self) -> Option<Outbox> {
        self.inner.outbox.clone()
    }

    /// Up to `retries` further attempts after a retryable failure, each attempt bounded by
    /// `timeout`.
    pub fn with_retries(mut self, retries: u32, timeout: Duration) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        inner.retries = retries;
        inner.timeout = timeout;
        self
    }

    /// The pause before the first retry (default 200 ms); it doubles for each further
    /// retry, up to 30 s, with ± 20 % jitter.
    pub fn with_backoff(mut self, first: Duration) -> Self {
        Arc::make_mut(&mut self.inner).backoff = first;
        self
    }

    /// Adds the template `name`, or replaces it; the built-in ones are
    /// [`VERIFY_EMAIL`](super::VERIFY_EMAIL), [`RESET_PASSWORD`](super::RESET_PASSWORD) and
    /// [`PASSWORD_CHANGED`](super::PASSWORD_CHANGED).
    pub fn with_template(mut self, name: &str, template: MailTemplate) -> Self {
        Arc::make_mut(&mut self.inner)
            .templates
            .insert(name.to_owned(), template);
        self
    }

    /// The mail the template `name` makes for `to` with `vars`. An unknown template, or a
    /// placeholder without a value, is an [`Error::internal`].
    pub fn render(&self, name: &str, to: &str, vars: &[(&str, &str)]) -> Result<Mail> {
        let template = self
            .inner
            .templates
            .get(name)
            .ok_or_else(|| Error::internal(format!("no mail template named `{name}`")))?;
        template
            .fill(to, vars)
            .map_err(|e| Error::internal(format!("mail template `{name}`: {e}")))
    }

    /// Delivers `mail` now, retrying retryable failures with backoff; each attempt is
    /// bounded by the timeout. Returns the last error once the attempts are used up, or at
    /// once for a failure that is not retryable.
    pub async fn deliver(&self, mail: &Mail) -> Result<(), MailError> {
        let inner = &self.inner;
        let attempts = inner.retries.saturating_add(1);
        let mut attempt = 1;
        loop {
            let sent = inner.transport.send(&inner.from, mail);
            let result = match tokio::time::timeout(inner.timeout, sent).await {
                Ok(result) => result,
                Err(_) => Err(MailError::retryable(format!(
                    "no answer within {:?}",
                    inner.timeout
                ))),
            };
            match result {
                Ok(()) => {
                    tracing::debug!(to = %mail.to, subject = %mail.subject, attempt, "mail sent");
                    return Ok(());
                }
                Err(error) if !error.is_retryable() || attempt >= attempts => return Err(error),
                Err(error) => {
                    let pause = backoff(inner.backoff, attempt);
                    tracing::warn!(
                        to = %mail.to,
                        subject = %mail.subject,
                        attempt,
                        %error,
                        retry_in = ?pause,
                        "mail delivery failed; retrying"
                    );
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Sends `mail` in the background and returns at once: the delivery (with its retries)
    /// runs on a spawned task. A final failure is logged at error level with the recipient,
    /// subject and error, never the body. Outside a Tokio runtime the mail is dropped with
    /// the same log line.
    pub fn send(&self, mail: Mail) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                to = %mail.to,
                subject = %mail.subject,
                error = "Mailer::send was called outside a Tokio runtime",
                "mail not sent"
            );
            return;
        };
        let mailer = self.clone();
        runtime.spawn(async move {
            if let Err(error) = mailer.deliver(&mail).await {
                tracing::error!(to = %mail.to, subject = %mail.subject, %error, "mail not sent");
            }
        });
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut templates: Vec<_> = self.inner.templates.keys().collect();
        templates.sort();
        f.debug_struct("Mailer")
            .field("from", &self.inner.from)
            .field("retries", &self.inner.retries)
            .field("timeout", &self.inner.timeout)
            .field("templates", &templates)
            .field("memory", &self.inner.outbox.is_some())
            .finish_non_exhaustive()
    }
}

/// The pause before retry number `retry` (1-based): `first` doubled `retry - 1` times,
/// capped, then jittered by ± 20 %.
fn backoff(first: Duration, retry: u32) -> Duration {
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let pause = first.saturating_mul(factor).min(MAX_BACKOFF);
    let jitter = 0.8 + 0.4 * (random_u64() as f64 / u64::MAX as f64);
    pause.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for _ in 0..100 {
            for (retry, base_ms) in [(1, 200.0), (2, 400.0), (3, 800.0)] {
                let ms = backoff(DEFAULT_BACKOFF, retry).as_secs_f64() * 1000.0;
                assert!(
                    (base_ms * 0.8..=base_ms * 1.2).contains(&ms),
                    "{retry}: {ms}"
                );
            }
            assert!(backoff(DEFAULT_BACKOFF, 40) <= MAX_BACKOFF.mul_f64(1.2));
        }
    }
}
