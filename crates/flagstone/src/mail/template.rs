//! Text + HTML templates with `{{name}}` placeholders, and the built-in account mails.

use std::fmt;

use super::Mail;
use crate::{Error, Result};

/// The built-in template asking a new user to confirm their address; vars `link` and
/// `expires_in` (such as `24 hours`).
pub const VERIFY_EMAIL: &str = "verify_email";
/// The built-in template carrying a password reset link; vars `link` and `expires_in`.
pub const RESET_PASSWORD: &str = "reset_password";
/// The built-in template telling a user their password was changed; no vars.
pub const PASSWORD_CHANGED: &str = "password_changed";

/// A mail template: a subject, a text body and an optional HTML body, each with
/// `{{name}}` placeholders (spaces inside the braces are allowed: `{{ name }}`).
///
/// Values are inserted once, never re-read as template text. In `html` they are
/// HTML-escaped; in `text` and `subject` they go in as they are, except that line breaks in
/// a subject become spaces. A placeholder without a value is an error at render time, so a
/// template and its caller cannot silently drift apart; values nothing refers to are fine.
///
/// ```
/// use flagstone::mail::MailTemplate;
///
/// let template = MailTemplate::new(
///     "Hello {{name}}",
///     "Hi {{name}}, welcome.",
///     Some("<p>Hi {{name}}, welcome.</p>".to_owned()),
/// );
/// let mail = template.render("ada@example.com", &[("name", "Ada & Bob")]).unwrap();
/// assert_eq!(mail.subject, "Hello Ada & Bob");
/// assert_eq!(mail.html.as_deref(), Some("<p>Hi Ada &amp; Bob, welcome.</p>"));
/// assert!(template.render("ada@example.com", &[]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailTemplate {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, if the mail has one.
    pub html: Option<String>,
}

impl MailTemplate {
    /// A template from its three parts.
    pub fn new(subject: impl Into<String>, text: impl Into<String>, html: Option<String>) -> Self {
        Self {
            subject: subject.into(),
            text: text.into(),
            html,
        }
    }

    /// Fills the placeholders with `vars` and addresses the mail to `to`. Fails (as
    /// [`Error::internal`]) when a placeholder has no value or a `{{` is never closed.
    pub fn render(&self, to: &str, vars: &[(&str, &str)]) -> Result<Mail> {
        self.fill(to, vars).map_err(Error::internal)
    }

    pub(super) fn fill(&self, to: &str, vars: &[(&str, &str)]) -> Result<Mail, TemplateError> {
        let subject = fill(&self.subject, vars, Escape::None)?;
        let subject = subject
            .split(['\r', '\n'])
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Mail {
            to: to.to_owned(),
            subject,
            text: fill(&self.text, vars, Escape::None)?,
            html: match &self.html {
                Some(html) => Some(fill(html, vars, Escape::Html)?),
                None => None,
            },
        })
    }
}

/// The templates every [`Mailer`](super::Mailer) starts with.
pub(super) fn builtin() -> [(&'static str, MailTemplate); 3] {
    macro_rules! template {
        ($name:literal) => {
            MailTemplate::new(
                include_str!(concat!("templates/", $name, ".subject.txt")).trim(),
                include_str!(concat!("templates/", $name, ".txt")),
                Some(include_str!(concat!("templates/", $name, ".html")).to_owned()),
            )
        };
    }
    [
        (VERIFY_EMAIL, template!("verify_email")),
        (RESET_PASSWORD, template!("reset_password")),
        (PASSWORD_CHANGED, template!("password_changed")),
    ]
}

/// Why a template did not render.
#[derive(Debug)]
pub(super) enum TemplateError {
    /// `{{name}}` had no value.
    Unknown(String),
    /// A `{{` without its `}}`.
    Unclosed,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(name) => write!(f, "no value for the placeholder `{{{{{name}}}}}`"),
            Self::Unclosed => f.write_str("a `{{` is never closed by `}}`"),
        }
    }
}

impl std::error::Error for TemplateError {}

#[derive(Clone, Copy)]
enum Escape {
    None,
    Html,
}

/// Replaces every `{{name}}` in `template` in one pass.
fn fill(template: &str, vars: &[(&str, &str)], escape: Escape) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let name = after[..end].trim();
        let value = vars
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
            .ok_or_else(|| TemplateError::Unknown(name.to_owned()))?;
        match escape {
            Escape::None => out.push_str(value),
            Escape::Html => escape_html(value, &mut out),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Appends `value` with `& < > " '` escaped, safe in element content and quoted attributes.
fn escape_html(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_in_one_pass() {
        let vars = [("a", "{{b}}"), ("b", "x")];
        assert_eq!(
            fill("<{{a}}|{{ b }}>", &vars, Escape::None).ok(),
            Some("<{{b}}|x>".into())
        );
    }

    #[test]
    fn escapes_html() {
        let mut out = String::new();
        escape_html(r#"<a href="x">'&'</a>"#, &mut out);
        assert_eq!(
            out,
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }

    #[test]
    fn reports_unknown_and_unclosed_placeholders() {
        let unknown = fill("hi {{who}}", &[], Escape::None)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            unknown.as_deref(),
            Some("no value for the placeholder `{{who}}`")
        );
        assert!(matches!(
            fill("hi {{who", &[("who", "x")], Escape::None),
            Err(TemplateError::Unclosed)
        ));
        assert_eq!(
            fill("no placeholders }}", &[], Escape::None).ok(),
            Some("no placeholders }}".into())
        );
    }

    #[test]
    fn subject_stays_on_one_line() {
        let template = MailTemplate::new("Hi {{name}}", "", None);
        let mail = template.fill("a@example.com", &[("name", "x\r\nBcc: evil@example.com")]);
        assert_eq!(
            mail.ok().map(|m| m.subject),
            Some("Hi x Bcc: evil@example.com".into())
        );
    }

    #[test]
    fn builtin_templates_use_only_their_documented_vars() {
        let vars = [
            ("link", "https://app.example.com/x?token=t&a=1"),
            ("expires_in", "24 hours"),
        ];
        for (name, template) in builtin() {
            let mail = template.fill("a@example.com", &vars);
            assert!(mail.is_ok(), "{name}: {:?}", mail.err());
        }
    }
}
