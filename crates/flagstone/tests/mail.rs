//! The mailer through its public API: templates, the memory, file and log transports, the
//! retry policy, and SMTP against a real server on loopback.
//!
//! The SMTP delivery tests need the sink from `scripts/test-smtp.sh start`, which prints
//! `FLAGSTONE_TEST_SMTP_URL` and `FLAGSTONE_TEST_SMTP_DIR`; without the URL they print
//! `skipped: ...` and pass.

#![allow(clippy::unwrap_used)]

use std::{
    future,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use flagstone::{
    ErrorKind,
    config::{Config, MailConfig, MailTransportKind, Profile},
    mail::{
        LogTransport, Mail, MailError, MailTemplate, MailTransport, Mailer, MemoryTransport,
        PASSWORD_CHANGED, RESET_PASSWORD, VERIFY_EMAIL,
    },
};
use futures_util::future::BoxFuture;
use tokio::sync::{Notify, Semaphore};

const LINK: &str = "https://app.example.com/verify-email?token=tok_123&next=/home";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The test profile's `[mail]` section with `transport`.
fn mail_config(transport: MailTransportKind) -> MailConfig {
    let mut config = Config::defaults(Profile::Test).mail;
    config.transport = transport;
    config
}

// --- templates ------------------------------------------------------------------------------

#[test]
fn template_fills_placeholders_in_every_part() {
    let template = MailTemplate::new(
        "Welcome, {{name}}",
        "Hi {{ name }}, open {{link}}.",
        Some("<p>Hi {{name}}, <a href=\"{{link}}\">open</a>.</p>".to_owned()),
    );
    let mail = template
        .render(
            "ada@example.com",
            &[
                ("name", "Ada"),
                ("link", "https://x.example/a"),
                ("unused", "ok"),
            ],
        )
        .unwrap();
    assert_eq!(mail.to, "ada@example.com");
    assert_eq!(mail.subject, "Welcome, Ada");
    assert_eq!(mail.text, "Hi Ada, open https://x.example/a.");
    assert_eq!(
        mail.html.as_deref(),
        Some("<p>Hi Ada, <a href=\"https://x.example/a\">open</a>.</p>")
    );
}

#[test]
fn template_escapes_values_in_html_only() {
    let template = MailTemplate::new(
        "{{v}}",
        "{{v}}",
        Some("<p title=\"{{v}}\">{{v}}</p>".to_owned()),
    );
    let value = r#"<script>alert("x")</script> & 'y'"#;
    let mail = template.render("a@example.com", &[("v", value)]).unwrap();
    assert_eq!(mail.text, value);
    assert_eq!(mail.subject, value);
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;y&#x27;";
    assert_eq!(
        mail.html.unwrap(),
        format!("<p title=\"{escaped}\">{escaped}</p>")
    );
}

#[test]
fn template_without_html_renders_text_only() {
    let mail = MailTemplate::new("s", "t {{x}}", None)
        .render("a@example.com", &[("x", "1")])
        .unwrap();
    assert_eq!((mail.text.as_str(), mail.html), ("t 1", None));
}

#[test]
fn unknown_placeholder_is_an_error() {
    let template = MailTemplate::new("s", "Hi {{name}}", Some("<p>{{nmae}}</p>".to_owned()));
    let error = template
        .render("a@example.com", &[("name", "Ada")])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal);
    assert!(error.to_string().contains("{{nmae}}"), "{error}");

    let unclosed = MailTemplate::new("s", "Hi {{name", None);
    assert!(
        unclosed
            .render("a@example.com", &[("name", "Ada")])
            .is_err()
    );
}

#[test]
fn builtin_templates_render_with_their_vars() {
    let (mailer, _) = Mailer::memory();
    let vars = [("link", LINK), ("expires_in", "24 hours")];

    let verify = mailer
        .render(VERIFY_EMAIL, "ada@example.com", &vars)
        .unwrap();
    assert_eq!(verify.subject, "Confirm your email address");
    assert!(
        verify.text.contains(LINK) && verify.text.contains("24 hours"),
        "{}",
        verify.text
    );
    let html = verify.html.unwrap();
    assert!(html.contains(&LINK.replace('&', "&amp;")), "{html}");
    assert!(!html.contains(LINK), "the raw `&` must be escaped: {html}");

    let reset = mailer
        .render(RESET_PASSWORD, "ada@example.com", &vars)
        .unwrap();
    assert_eq!(reset.subject, "Reset your password");
    assert!(reset.text.contains(LINK) && reset.text.contains("24 hours"));
    assert!(reset.html.is_some());

    let changed = mailer
        .render(PASSWORD_CHANGED, "ada@example.com", &[])
        .unwrap();
    assert_eq!(changed.subject, "Your password was changed");
    assert!(changed.text.contains("password"));
    assert!(changed.html.is_some());

    let missing = mailer.render(VERIFY_EMAIL, "ada@example.com", &[("link", LINK)]);
    let error = missing.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal);
    assert!(error.to_string().contains("expires_in"), "{error}");
}

#[test]
fn unknown_template_is_an_error() {
    let (mailer, _) = Mailer::memory();
    let error = mailer
        .render("welcome", "ada@example.com", &[])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal);
    assert!(error.to_string().contains("welcome"), "{error}");
}

#[test]
fn with_template_overrides_and_adds() {
    let (mailer, _) = Mailer::memory();
    let mailer = mailer
        .with_template(
            VERIFY_EMAIL,
            MailTemplate::new("Verify for Acme", "Go to {{link}}", None),
        )
        .with_template("welcome", MailTemplate::new("Welcome", "Hello!", None));
    let verify = mailer
        .render(VERIFY_EMAIL, "ada@example.com", &[("link", LINK)])
        .unwrap();
    assert_eq!(
        (verify.subject.as_str(), verify.html),
        ("Verify for Acme", None)
    );
    assert_eq!(verify.text, format!("Go to {LINK}"));
    assert_eq!(
        mailer
            .render("welcome", "ada@example.com", &[])
            .unwrap()
            .text,
        "Hello!"
    );
    // The other built-in templates are still there.
    assert!(
        mailer
            .render(PASSWORD_CHANGED, "ada@example.com", &[])
            .is_ok()
    );
}

// --- Debug and Display never show bodies ----------------------------------------------------

#[test]
fn debug_of_mail_hides_bodies() {
    let mail = Mail::new(
        "ada@example.com",
        "Reset your password",
        "token=SECRET-TEXT",
    )
    .with_html("<a href=\"?token=SECRET-HTML\">reset</a>");
    let debug = format!("{mail:?}");
    assert!(
        debug.contains("ada@example.com") && debug.contains("Reset your password"),
        "{debug}"
    );
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(!format!("{mail:#?}").contains("SECRET"));
}

#[cfg(feature = "smtp")]
#[test]
fn smtp_settings_never_show_the_password() {
    use flagstone::{config::Secret, mail::SmtpTransport};

    let transport =
        SmtpTransport::from_url("smtp://user:hunter2@mail.example.com:587", ms(500)).unwrap();
    let debug = format!("{transport:?}");
    assert!(
        debug.contains("mail.example.com:587") && !debug.contains("hunter2"),
        "{debug}"
    );

    let mut config = mail_config(MailTransportKind::Smtp);
    config.smtp_url = Some(Secret::new(
        "smtp://user:hunter2@mail.example.com:587?tls=maybe",
    ));
    let error = Mailer::from_config(&config).unwrap_err().to_string();
    assert!(
        error.contains("tls") && !error.contains("hunter2"),
        "{error}"
    );
}

// --- memory transport and Outbox ------------------------------------------------------------

#[tokio::test]
async fn wait_for_resolves_when_a_later_mail_arrives() {
    let (mailer, outbox) = Mailer::memory();
    let waiter = tokio::spawn({
        let outbox = outbox.clone();
        async move {
            outbox
                .wait_for("Ada@Example.com", Duration::from_secs(5))
                .await
        }
    });
    tokio::task::yield_now().await;
    mailer.send(Mail::new("bob@example.com", "for bob", "b"));
    mailer.send(Mail::new("ada@example.com", "for ada", "a"));
    let mail = waiter.await.unwrap().expect("the mail to ada arrives");
    assert_eq!(mail.subject, "for ada");
}

#[tokio::test]
async fn wait_for_returns_the_newest_mail_already_there() {
    let (mailer, outbox) = Mailer::memory();
    for subject in ["first", "second"] {
        mailer
            .deliver(&Mail::new("ada@example.com", subject, "x"))
            .await
            .unwrap();
    }
    mailer
        .deliver(&Mail::new("bob@example.com", "third", "x"))
        .await
        .unwrap();
    let mail = outbox.wait_for("ada@example.com", ms(10)).await.unwrap();
    assert_eq!(mail.subject, "second");
    let subjects: Vec<_> = outbox.messages().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects, ["first", "second", "third"]);

    outbox.clear();
    assert!(outbox.messages().is_empty());
    let start = Instant::now();
    assert_eq!(outbox.wait_for("ada@example.com", ms(100)).await, None);
    assert!(start.elapsed() >= ms(100));
}

/// Delivers into a memory outbox once the test hands out a permit.
struct Gated {
    gate: Arc<Semaphore>,
    inner: MemoryTransport,
}

impl MailTransport for Gated {
    fn send<'a>(&'a self, from: &'a str, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            self.gate.acquire().await.unwrap().forget();
            self.inner.send(from, mail).await
        })
    }
}

#[tokio::test]
async fn send_returns_before_the_mail_is_delivered() {
    let gate = Arc::new(Semaphore::new(0));
    let memory = MemoryTransport::new();
    let outbox = memory.outbox();
    let mailer = Mailer::new(
        Gated {
            gate: gate.clone(),
            inner: memory,
        },
        "a@example.com",
    );
    assert!(
        mailer.outbox().is_none(),
        "only the memory transport itself has an outbox"
    );

    let start = Instant::now();
    mailer.send(Mail::new("ada@example.com", "held", "x"));
    assert!(start.elapsed() < ms(50));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(outbox.messages().is_empty(), "delivery waits for the gate");

    gate.add_permits(1);
    let mail = outbox
        .wait_for("ada@example.com", Duration::from_secs(5))
        .await;
    assert_eq!(mail.map(|m| m.subject).as_deref(), Some("held"));
}

#[tokio::test]
async fn outbox_is_there_for_memory_transports_only() {
    let memory = Mailer::from_config(&mail_config(MailTransportKind::Memory)).unwrap();
    let outbox = memory.outbox().expect("memory transport has an outbox");
    let mail = memory
        .render(PASSWORD_CHANGED, "ada@example.com", &[])
        .unwrap();
    memory.deliver(&mail).await.unwrap();
    assert_eq!(outbox.messages(), std::slice::from_ref(&mail));
    // Clones share the outbox.
    assert_eq!(memory.clone().outbox().unwrap().messages().len(), 1);

    assert!(
        Mailer::new(MemoryTransport::new(), "a@example.com")
            .outbox()
            .is_some()
    );

    let log = Mailer::from_config(&mail_config(MailTransportKind::Log)).unwrap();
    assert!(log.outbox().is_none());
    log.deliver(&mail).await.unwrap();
    assert!(
        Mailer::new(LogTransport, "a@example.com")
            .deliver(&mail)
            .await
            .is_ok()
    );
}

// --- file transport -------------------------------------------------------------------------

#[tokio::test]
async fn file_transport_writes_parseable_eml_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("mail");
    let mut config = mail_config(MailTransportKind::File);
    config.dir = dir.to_str().unwrap().to_owned();
    config.from = "Flagstone Tests <no-reply@example.com>".to_owned();
    let mailer = Mailer::from_config(&config).unwrap();
    assert!(mailer.outbox().is_none());

    let rich = Mail::new(
        "ada@example.com",
        "Your report",
        "Plain caf\u{e9} text\nline two",
    )
    .with_html("<p>Rich <b>caf\u{e9}</b></p>");
    mailer.deliver(&rich).await.unwrap();
    mailer
        .deliver(&Mail::new("bob@example.com", "Text only", "just text"))
        .await
        .unwrap();

    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "eml")),
        "{files:?}"
    );

    let first = Eml::parse(&std::fs::read_to_string(&files[0]).unwrap());
    assert_eq!(first.header("To"), Some("ada@example.com"));
    assert_eq!(from(&first), "Flagstone Tests <no-reply@example.com>");
    assert_eq!(first.header("Subject"), Some("Your report"));
    assert!(first.header("Date").is_some() && first.header("Message-ID").is_some());
    assert_eq!(first.header("MIME-Version"), Some("1.0"));
    assert!(
        first
            .header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative")
    );
    assert_eq!(first.parts.len(), 2);
    assert!(first.parts[0].content_type.starts_with("text/plain"));
    assert_eq!(first.parts[0].body, "Plain caf\u{e9} text\nline two");
    assert!(first.parts[1].content_type.starts_with("text/html"));
    assert_eq!(
        first.parts[1].body.trim_end(),
        "<p>Rich <b>caf\u{e9}</b></p>"
    );

    let second = Eml::parse(&std::fs::read_to_string(&files[1]).unwrap());
    assert_eq!(second.header("To"), Some("bob@example.com"));
    assert_eq!(second.parts.len(), 1);
    assert!(second.parts[0].content_type.starts_with("text/plain"));
    assert_eq!(second.parts[0].body.trim_end(), "just text");
}

#[cfg(feature = "smtp")]
#[tokio::test]
async fn file_transport_refuses_a_bad_address_without_retrying() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = mail_config(MailTransportKind::File);
    config.dir = tmp.path().to_str().unwrap().to_owned();
    let mailer = Mailer::from_config(&config)
        .unwrap()
        .with_backoff(Duration::from_secs(60));
    let mail = Mail::new("not an address", "s", "BODY-SECRET");
    let error = mailer.deliver(&mail).await.unwrap_err();
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("recipient") && !error.to_string().contains("BODY-SECRET"));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[cfg(feature = "smtp")]
#[test]
fn from_config_refuses_an_invalid_from() {
    let mut config = mail_config(MailTransportKind::Memory);
    config.from = "Flagstone".to_owned();
    let error = Mailer::from_config(&config).unwrap_err();
    assert!(error.to_string().contains("mail.from"), "{error}");
}

#[cfg(not(feature = "smtp"))]
#[test]
fn smtp_transport_needs_the_smtp_feature() {
    let mut config = mail_config(MailTransportKind::Smtp);
    config.smtp_url = Some(flagstone::config::Secret::new(
        "smtp://127.0.0.1:2525?tls=none",
    ));
    let error = Mailer::from_config(&config).unwrap_err();
    assert!(
        error.to_string().contains("`smtp` cargo feature"),
        "{error}"
    );
}

#[test]
fn smtp_transport_needs_a_url() {
    let error = Mailer::from_config(&mail_config(MailTransportKind::Smtp)).unwrap_err();
    assert!(error.to_string().contains("smtp_url"), "{error}");
}

// --- retries --------------------------------------------------------------------------------

/// Fails its first `failures` calls (retryably or not), then succeeds.
struct Flaky {
    calls: Arc<AtomicU32>,
    called: Arc<Notify>,
    failures: u32,
    retryable: bool,
}

impl Flaky {
    fn new(failures: u32, retryable: bool) -> (Self, Arc<AtomicU32>, Arc<Notify>) {
        let calls = Arc::new(AtomicU32::new(0));
        let called = Arc::new(Notify::new());
        let flaky = Self {
            calls: calls.clone(),
            called: called.clone(),
            failures,
            retryable,
        };
        (flaky, calls, called)
    }
}

impl MailTransport for Flaky {
    fn send<'a>(&'a self, _: &'a str, _: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.called.notify_one();
        Box::pin(async move {
            match (call <= self.failures, self.retryable) {
                (false, _) => Ok(()),
                (true, true) => Err(MailError::retryable("421 service not available")),
                (true, false) => Err(MailError::permanent("550 no such user")),
            }
        })
    }
}

fn mail() -> Mail {
    Mail::new("ada@example.com", "Retry me", "body")
}

#[tokio::test]
async fn retryable_failures_are_retried_until_delivered() {
    let (flaky, calls, _) = Flaky::new(2, true);
    let mailer = Mailer::new(flaky, "a@example.com")
        .with_retries(3, Duration::from_secs(1))
        .with_backoff(ms(40));
    let start = Instant::now();
    mailer.deliver(&mail()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // Two pauses with backoff: about 40 ms then 80 ms, each at least 80 % of that.
    assert!(start.elapsed() >= ms(96), "{:?}", start.elapsed());
}

#[tokio::test]
async fn a_permanent_failure_is_not_retried() {
    let (flaky, calls, _) = Flaky::new(u32::MAX, false);
    let mailer = Mailer::new(flaky, "a@example.com")
        .with_retries(3, Duration::from_secs(1))
        .with_backoff(ms(1));
    let error = mailer.deliver(&mail()).await.unwrap_err();
    assert!(!error.is_retryable());
    assert_eq!(error.to_string(), "550 no such user");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn delivery_gives_up_after_one_plus_retries_attempts() {
    for retries in [0, 2] {
        let (flaky, calls, _) = Flaky::new(u32::MAX, true);
        let mailer = Mailer::new(flaky, "a@example.com")
            .with_retries(retries, Duration::from_secs(1))
            .with_backoff(ms(1));
        let error = mailer.deliver(&mail()).await.unwrap_err();
        assert!(error.is_retryable());
        assert_eq!(calls.load(Ordering::SeqCst), 1 + retries);
    }
}

/// Never answers.
struct Silent(Arc<AtomicU32>);

impl MailTransport for Silent {
    fn send<'a>(&'a self, _: &'a str, _: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(future::pending())
    }
}

#[tokio::test]
async fn each_attempt_is_bounded_by_the_timeout() {
    let calls = Arc::new(AtomicU32::new(0));
    let mailer = Mailer::new(Silent(calls.clone()), "a@example.com")
        .with_retries(1, ms(50))
        .with_backoff(ms(1));
    let start = Instant::now();
    let error = mailer.deliver(&mail()).await.unwrap_err();
    assert!(
        error.is_retryable() && error.to_string().contains("no answer"),
        "{error}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(start.elapsed() >= ms(100) && start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn send_retries_in_the_background() {
    let (flaky, calls, called) = Flaky::new(u32::MAX, true);
    let mailer = Mailer::new(flaky, "a@example.com")
        .with_retries(2, Duration::from_secs(1))
        .with_backoff(ms(1));
    mailer.send(mail());
    let all_attempts = async {
        while calls.load(Ordering::SeqCst) < 3 {
            called.notified().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), all_attempts)
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn send_outside_a_runtime_does_not_panic() {
    let (mailer, outbox) = Mailer::memory();
    mailer.send(mail());
    assert!(outbox.messages().is_empty());
}

// --- SMTP -----------------------------------------------------------------------------------

#[cfg(feature = "smtp")]
mod smtp {
    use std::{
        path::Path,
        time::{SystemTime, UNIX_EPOCH},
    };

    use flagstone::config::Secret;
    use serde_json::Value;

    use super::*;

    /// An address no other test uses.
    fn unique_address(prefix: &str) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{nanos}-{n}@example.com")
    }

    /// The sink's URL and message dir, or `None` (having said so) when no server is set up.
    fn server() -> Option<(String, Option<PathBuf>)> {
        let url = std::env::var("FLAGSTONE_TEST_SMTP_URL")
            .ok()
            .filter(|u| !u.is_empty());
        let Some(url) = url else {
            println!("skipped: FLAGSTONE_TEST_SMTP_URL is not set (scripts/test-smtp.sh start)");
            return None;
        };
        let dir = std::env::var_os("FLAGSTONE_TEST_SMTP_DIR").map(PathBuf::from);
        Some((url, dir))
    }

    /// The sink's URL and dir, or `None` when the server is not our sink (whose fixed test
    /// user and special recipients these tests rely on).
    fn sink() -> Option<(String, PathBuf)> {
        match server()? {
            (url, Some(dir)) => Some((url, dir)),
            (_, None) => {
                println!(
                    "skipped: FLAGSTONE_TEST_SMTP_DIR is not set (scripts/test-smtp.sh start)"
                );
                None
            }
        }
    }

    fn smtp_mailer(url: &str) -> Mailer {
        let mut config = mail_config(MailTransportKind::Smtp);
        config.smtp_url = Some(Secret::new(url));
        config.from = "Flagstone Tests <no-reply@example.com>".to_owned();
        config.timeout = Duration::from_secs(5);
        config.retries = 0;
        Mailer::from_config(&config).unwrap()
    }

    /// The sink's record of the message sent to `to`.
    fn received(dir: &Path, to: &str) -> Value {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let record: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if record["rcpt_tos"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == to)
            {
                return record;
            }
        }
        panic!("the sink in {} has no message to {to}", dir.display());
    }

    #[tokio::test]
    async fn delivers_text_and_html_to_a_real_server() {
        let Some((url, dir)) = server() else { return };
        let to = unique_address("multipart");
        let mailer = smtp_mailer(&url);
        let mail = mailer
            .render(
                VERIFY_EMAIL,
                &to,
                &[("link", LINK), ("expires_in", "24 hours")],
            )
            .unwrap();
        mailer.deliver(&mail).await.unwrap();

        let Some(dir) = dir else {
            println!(
                "delivered; FLAGSTONE_TEST_SMTP_DIR is not set, so the message is not checked"
            );
            return;
        };
        let record = received(&dir, &to);
        assert_eq!(record["mail_from"], "no-reply@example.com");
        assert_eq!(record["rcpt_tos"], serde_json::json!([to]));
        assert_eq!(record["auth_login"], Value::Null);

        let eml = Eml::parse(record["data"].as_str().unwrap());
        assert_eq!(eml.header("To"), Some(to.as_str()));
        assert_eq!(from(&eml), "Flagstone Tests <no-reply@example.com>");
        assert_eq!(eml.header("Subject"), Some("Confirm your email address"));
        assert!(
            eml.header("Content-Type")
                .unwrap()
                .starts_with("multipart/alternative")
        );
        assert_eq!(eml.parts.len(), 2);
        assert!(eml.parts[0].content_type.starts_with("text/plain"));
        assert_eq!(eml.parts[0].body.trim_end(), mail.text.trim_end());
        assert!(eml.parts[1].content_type.starts_with("text/html"));
        let html = mail.html.as_deref().unwrap();
        assert_eq!(eml.parts[1].body.trim_end(), html.trim_end());
    }

    #[tokio::test]
    async fn delivers_text_only_mail_as_a_single_part() {
        let Some((url, dir)) = sink() else { return };
        let to = unique_address("text");
        smtp_mailer(&url)
            .deliver(&Mail::new(&to, "Plain", "Just text, caf\u{e9}."))
            .await
            .unwrap();
        let eml = Eml::parse(received(&dir, &to)["data"].as_str().unwrap());
        assert_eq!(eml.parts.len(), 1);
        assert!(eml.parts[0].content_type.starts_with("text/plain"));
        assert_eq!(eml.parts[0].body.trim_end(), "Just text, caf\u{e9}.");
    }

    #[tokio::test]
    async fn logs_in_with_user_and_password() {
        let Some((url, dir)) = sink() else { return };
        let with_login = url.replacen("smtp://", "smtp://flagstone:flagstone-test@", 1);
        let to = unique_address("login");
        smtp_mailer(&with_login)
            .deliver(&Mail::new(&to, "Logged in", "x"))
            .await
            .unwrap();
        assert_eq!(received(&dir, &to)["auth_login"], "flagstone");
    }

    #[tokio::test]
    async fn a_wrong_password_is_a_permanent_failure() {
        let Some((url, _)) = sink() else { return };
        let wrong = url.replacen("smtp://", "smtp://flagstone:wrong@", 1);
        let error = smtp_mailer(&wrong)
            .deliver(&Mail::new(unique_address("wrong"), "s", "BODY-SECRET"))
            .await
            .unwrap_err();
        assert!(!error.is_retryable(), "{error}");
        assert!(error.to_string().contains("535"), "{error}");
        assert!(!error.to_string().contains("wrong@"), "{error}");
    }

    #[tokio::test]
    async fn replies_4xx_are_retryable_and_5xx_are_not() {
        let Some((url, _)) = sink() else { return };
        let mailer = smtp_mailer(&url);
        let deferred = mailer
            .deliver(&Mail::new(unique_address("tempfail"), "s", "x"))
            .await
            .unwrap_err();
        assert!(deferred.is_retryable(), "{deferred}");
        assert!(deferred.to_string().contains("451"), "{deferred}");

        let refused = mailer
            .deliver(&Mail::new(unique_address("reject"), "s", "x"))
            .await
            .unwrap_err();
        assert!(!refused.is_retryable(), "{refused}");
        assert!(refused.to_string().contains("550"), "{refused}");
    }

    #[tokio::test]
    async fn a_bare_smtp_url_requires_starttls() {
        let Some((url, _)) = sink() else { return };
        // The sink offers no STARTTLS, so without `tls=none` nothing may be sent in the clear.
        let bare = url.replace("?tls=none", "");
        let error = smtp_mailer(&bare)
            .deliver(&Mail::new(unique_address("starttls"), "s", "x"))
            .await
            .unwrap_err();
        assert!(!error.is_retryable(), "{error}");
        assert!(
            error.to_string().to_lowercase().contains("starttls"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_closed_port_fails_fast_and_retryably() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut config = mail_config(MailTransportKind::Smtp);
        config.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}?tls=none")));
        config.timeout = Duration::from_secs(2);
        config.retries = 1;
        let mailer = Mailer::from_config(&config).unwrap().with_backoff(ms(10));
        let start = Instant::now();
        let error = mailer.deliver(&mail()).await.unwrap_err();
        assert!(error.is_retryable(), "{error}");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn a_server_that_never_greets_times_out() {
        // Connections complete in the kernel's backlog but nobody ever answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = mail_config(MailTransportKind::Smtp);
        config.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}?tls=none")));
        config.timeout = ms(300);
        config.retries = 1;
        let mailer = Mailer::from_config(&config).unwrap().with_backoff(ms(10));
        let start = Instant::now();
        let error = mailer.deliver(&mail()).await.unwrap_err();
        assert!(error.is_retryable(), "{error}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        drop(listener);
    }
}

// --- a small MIME reader for the checks above -----------------------------------------------

/// A parsed message: unfolded headers and its decoded text parts.
struct Eml {
    headers: Vec<(String, String)>,
    parts: Vec<Part>,
}

struct Part {
    content_type: String,
    body: String,
}

impl Eml {
    fn parse(raw: &str) -> Self {
        let (headers, body) = split_headers(raw);
        let content_type = find(&headers, "Content-Type")
            .unwrap_or("text/plain")
            .to_owned();
        let parts = if content_type.starts_with("multipart/") {
            let boundary = param(&content_type, "boundary").expect("a multipart boundary");
            let delimiter = format!("--{boundary}");
            body.split(delimiter.as_str())
                .skip(1)
                .take_while(|chunk| !chunk.starts_with("--"))
                .map(|chunk| {
                    let (headers, body) = split_headers(chunk.trim_start_matches("\r\n"));
                    Part::new(&headers, body)
                })
                .collect()
        } else {
            vec![Part::new(&headers, body)]
        };
        Self { headers, parts }
    }

    fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

/// The `From` header without the quotes a writer may put around the display name.
fn from(eml: &Eml) -> String {
    eml.header("From").unwrap().replace('"', "")
}

impl Part {
    fn new(headers: &[(String, String)], body: &str) -> Self {
        let content_type = find(headers, "Content-Type")
            .unwrap_or("text/plain")
            .to_owned();
        let encoding = find(headers, "Content-Transfer-Encoding").unwrap_or("7bit");
        let body = match encoding.to_ascii_lowercase().as_str() {
            "base64" => {
                let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                String::from_utf8(STANDARD.decode(compact).unwrap()).unwrap()
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.to_owned(),
        };
        // Line breaks as `\n`; the one before the next delimiter belongs to the delimiter.
        let body = body.replace("\r\n", "\n");
        let body = body.strip_suffix('\n').unwrap_or(&body).to_owned();
        Self { content_type, body }
    }
}

fn split_headers(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("headers end with an empty line");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("a continuation follows a header");
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (name, value) = line.split_once(':').expect("a header line");
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (key, value) = p.trim().split_once('=')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim_matches('"').to_owned())
    })
}

fn quoted_printable(body: &str) -> String {
    let bytes = body.replace("=\r\n", "").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
