//! One message.

use std::fmt;

/// One message: a recipient, a subject, a plain-text body and an optional HTML body.
///
/// Its `Debug` output shows the recipient and subject only: the bodies of account mails
/// carry tokens, and must not end up in logs.
///
/// ```
/// use flagstone::mail::Mail;
///
/// let mail = Mail::new("ada@example.com", "Welcome", "token: s3cr3t").with_html("<p>s3cr3t</p>");
/// assert!(!format!("{mail:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address, such as `ada@example.com`.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body; when present the mail is sent as `multipart/alternative`.
    pub html: Option<String>,
}

impl Mail {
    /// A plain-text mail.
    pub fn new(to: impl Into<String>, subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            subject: subject.into(),
            text: text.into(),
            html: None,
        }
    }

    /// Adds an HTML body.
    pub fn with_html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }
}

impl fmt::Debug for Mail {
    /// The recipient and subject; never the bodies.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}
