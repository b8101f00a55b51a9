//! The transport trait, its error, and the log transport.

use std::{borrow::Cow, fmt};

use futures_util::future::BoxFuture;

use super::Mail;
use crate::error::BoxError;

/// Where mails go: implement it for a custom transport (an HTTP mail API, a queue) and
/// hand it to [`Mailer::new`](super::Mailer::new). The trait is object-safe.
///
/// The [`Mailer`](super::Mailer) bounds every call by its timeout and retries failures that
/// are [retryable](MailError::is_retryable), so a transport makes one attempt per call.
///
/// ```
/// use flagstone::mail::{Mail, MailError, MailTransport, Mailer};
/// use futures_util::future::BoxFuture;
///
/// struct Discard;
///
/// impl MailTransport for Discard {
///     fn send<'a>(&'a self, _from: &'a str, _mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
///
/// let mailer = Mailer::new(Discard, "App <no-reply@example.com>");
/// ```
pub trait MailTransport: Send + Sync + 'static {
    /// Makes one attempt to deliver `mail` from the `from` mailbox.
    fn send<'a>(&'a self, from: &'a str, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>>;
}

/// A failed delivery. [`MailError::is_retryable`] says whether another attempt may succeed
/// (connection refused, timeout, a 4xx SMTP reply) or not (a 5xx reply, a bad address).
///
/// Its messages never contain the mail's body.
#[derive(Debug)]
pub struct MailError {
    retryable: bool,
    message: Cow<'static, str>,
    source: Option<BoxError>,
}

impl MailError {
    /// A failure another attempt may get past.
    pub fn retryable(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            retryable: true,
            message: message.into(),
            source: None,
        }
    }

    /// A failure that will happen again: the mail is not retried.
    pub fn permanent(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            retryable: false,
            ..Self::retryable(message)
        }
    }

    /// Attaches the underlying cause; it is shown after the message.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MailError {}

/// Logs every mail at info level (target `flagstone::mail`) instead of sending it: the
/// development default.
///
/// The log line includes the text body, and with it the tokens of verification and reset
/// links, so anyone who reads the logs can take over accounts. Use it for local
/// development only; production needs `smtp` (or a custom transport).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogTransport;

impl MailTransport for LogTransport {
    fn send<'a>(&'a self, from: &'a str, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        tracing::info!(
            target: "flagstone::mail",
            from,
            to = %mail.to,
            subject = %mail.subject,
            text = %mail.text,
            "mail (log transport: logged, not sent)"
        );
        Box::pin(async { Ok(()) })
    }
}
