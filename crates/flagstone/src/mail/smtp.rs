//! The SMTP transport (lettre), and the RFC 5322 messages it and the file transport send.

use std::{fmt, sync::OnceLock, time::Duration};

use futures_util::future::BoxFuture;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart, header::ContentType},
    transport::smtp::AsyncSmtpTransportBuilder,
};

use super::{Mail, MailError, MailTransport, message_id};
use crate::{Error, Result};

/// Sends mails through an SMTP server with lettre, over rustls.
///
/// The URL says how to reach the server:
///
/// | URL | connection |
/// | --- | --- |
/// | `smtp://user:password@host:587` | STARTTLS, required: the mail is not sent if the server does not offer it |
/// | `smtps://user:password@host:465` | TLS from the first byte |
/// | `smtp://host:25?tls=none` | plaintext, for a relay on loopback or a trusted network |
/// | `smtp://host:587?tls=opportunistic` | STARTTLS when offered, plaintext otherwise (open to a man in the middle) |
///
/// User and password are optional (percent-encode special characters); without them no
/// `AUTH` is sent. Connections are pooled (lettre's defaults: up to 10, closed after 60 s
/// idle). A mail with an HTML body goes out as `multipart/alternative` (text, then HTML).
pub struct SmtpTransport {
    builder: AsyncSmtpTransportBuilder,
    /// Built on first use: lettre's connection pool spawns its cleanup task on the runtime.
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    endpoint: String,
}

impl SmtpTransport {
    /// A transport for `url` (see the table above), each connection and command bounded by
    /// `timeout`. Fails on a URL it cannot use; the error never repeats the URL, which may
    /// hold a password.
    pub fn from_url(url: &str, timeout: Duration) -> Result<Self> {
        let invalid = |why: &str| Error::internal(format!("mail.smtp_url: {why}"));
        let lettre_url = lettre_url(url).map_err(invalid)?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url)
            .map_err(|_| invalid("not a valid SMTP URL"))?
            .timeout(Some(timeout));
        Ok(Self {
            builder,
            transport: OnceLock::new(),
            endpoint: endpoint(url),
        })
    }

    fn transport(&self) -> &AsyncSmtpTransport<Tokio1Executor> {
        self.transport.get_or_init(|| self.builder.clone().build())
    }
}

impl fmt::Debug for SmtpTransport {
    /// The scheme, host and port; never the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl MailTransport for SmtpTransport {
    fn send<'a>(&'a self, from: &'a str, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            let message = message(from, mail)?;
            self.transport()
                .send(message)
                .await
                .map(drop)
                .map_err(classify)
        })
    }
}

/// Parses `value` as a mailbox, such as `App <no-reply@example.com>`; `what` names it in
/// the error.
pub(super) fn mailbox(value: &str, what: &'static str) -> Result<Mailbox, MailError> {
    value
        .parse::<Mailbox>()
        .map_err(|e| MailError::permanent(format!("{what} is not a valid mailbox")).with_source(e))
}

/// The RFC 5322 message for `mail`: text only, or `multipart/alternative` text + HTML.
pub(super) fn message(from: &str, mail: &Mail) -> Result<Message, MailError> {
    let builder = Message::builder()
        .from(mailbox(from, "the sender")?)
        .to(mailbox(&mail.to, "the recipient")?)
        .subject(mail.subject.as_str())
        .message_id(Some(message_id(from)));
    let built = match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone()),
    };
    built.map_err(|e| MailError::permanent("the mail could not be built").with_source(e))
}

/// Sorts lettre's failures: 4xx replies and network trouble are worth another attempt;
/// 5xx replies, TLS failures and client-side errors are not.
fn classify(error: lettre::transport::smtp::Error) -> MailError {
    let (retryable, message) = if error.is_permanent() {
        (false, "the SMTP server refused the mail")
    } else if error.is_transient() {
        (true, "the SMTP server deferred the mail")
    } else if error.is_timeout() {
        (true, "the SMTP server did not answer in time")
    } else if error.is_tls() {
        (false, "TLS with the SMTP server failed")
    } else if error.is_client() {
        (false, "the SMTP session could not proceed")
    } else {
        (true, "could not talk to the SMTP server")
    };
    let mail_error = if retryable {
        MailError::retryable(message)
    } else {
        MailError::permanent(message)
    };
    mail_error.with_source(error)
}

/// Turns Flagstone's URL forms into lettre's: a bare `smtp://` means STARTTLS required
/// here (plaintext in lettre), and `tls=none` means plaintext (unknown to lettre).
fn lettre_url(url: &str) -> Result<String, &'static str> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("must start with smtp:// or smtps://")?;
    let (base, query) = match rest.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (rest, None),
    };
    let mut tls = None;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            _ if pair.is_empty() => {}
            Some(("tls", value)) => tls = Some(value),
            _ => return Err("the only query parameter understood is `tls`"),
        }
    }
    let tls = match (scheme.to_ascii_lowercase().as_str(), tls) {
        ("smtps", None) => None,
        ("smtps", Some(_)) => return Err("smtps:// always uses TLS; drop the `tls` parameter"),
        ("smtp", None | Some("required")) => Some("required"),
        ("smtp", Some("opportunistic")) => Some("opportunistic"),
        ("smtp", Some("none")) => None,
        ("smtp", Some(_)) => return Err("`tls` must be `none`, `required` or `opportunistic`"),
        _ => return Err("must start with smtp:// or smtps://"),
    };
    let scheme = scheme.to_ascii_lowercase();
    Ok(match tls {
        Some(tls) => format!("{scheme}://{base}?tls={tls}"),
        None => format!("{scheme}://{base}"),
    })
}

/// `scheme://host:port` of `url`, without credentials, path or query.
fn endpoint(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("smtp", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_url_forms_to_lettre() {
        let cases = [
            (
                "smtp://u:p@mail.example.com:587",
                "smtp://u:p@mail.example.com:587?tls=required",
            ),
            (
                "smtp://mail.example.com",
                "smtp://mail.example.com?tls=required",
            ),
            ("smtp://h:25?tls=none", "smtp://h:25"),
            ("smtp://h:25?tls=required", "smtp://h:25?tls=required"),
            (
                "smtp://h:587?tls=opportunistic",
                "smtp://h:587?tls=opportunistic",
            ),
            ("smtps://u:p@h:465", "smtps://u:p@h:465"),
            (
                "SMTP://h/ehlo.example.com?tls=none",
                "smtp://h/ehlo.example.com",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(lettre_url(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn refuses_unusable_urls() {
        for url in [
            "http://h:25",
            "h:25",
            "smtp://h:25?tls=off",
            "smtps://h:465?tls=none",
            "smtp://h:25?tsl=none",
        ] {
            assert!(lettre_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn endpoint_leaves_out_credentials() {
        assert_eq!(
            endpoint("smtp://user:p%40ss@h.example.com:587/x?tls=none"),
            "smtp://h.example.com:587"
        );
        assert_eq!(endpoint("smtps://h:465"), "smtps://h:465");
    }

    #[test]
    fn builds_multipart_alternative_when_html_is_present() {
        let mail = Mail::new("ada@example.com", "Hi", "plain").with_html("<p>rich</p>");
        let message = message("App <no-reply@example.com>", &mail).map(|m| m.formatted());
        let text = String::from_utf8(message.unwrap_or_default()).unwrap_or_default();
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(
            text.contains("plain") && text.contains("<p>rich</p>"),
            "{text}"
        );
        assert!(message_is_refused("not an address"));
    }

    fn message_is_refused(to: &str) -> bool {
        matches!(message("a@example.com", &Mail::new(to, "s", "t")), Err(e) if !e.is_retryable())
    }
}
