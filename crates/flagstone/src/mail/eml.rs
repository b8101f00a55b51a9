//! A small RFC 5322 / MIME writer, used by the file transport when the `smtp` feature (and
//! with it lettre's message builder) is off.
//!
//! Bodies are base64 in UTF-8, so any text is safe; a subject outside printable ASCII
//! becomes RFC 2047 encoded words, so a line break in it cannot start a new header.

use std::{
    fmt::Write as _,
    time::{SystemTime, UNIX_EPOCH},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};

use super::{Mail, MailError, message_id, random_u64};

/// The message for `mail`, sent by `from` at `now`.
pub(super) fn format(from: &str, mail: &Mail, now: SystemTime) -> Result<Vec<u8>, MailError> {
    let mut out = String::new();
    header(&mut out, "From", &address(from, "the sender")?);
    header(&mut out, "To", &address(&mail.to, "the recipient")?);
    header(&mut out, "Subject", &unstructured(&mail.subject));
    header(&mut out, "Date", &date(now));
    header(&mut out, "Message-ID", &message_id(from));
    header(&mut out, "MIME-Version", "1.0");
    match &mail.html {
        None => part(&mut out, "text/plain", &mail.text),
        Some(html) => {
            // `=_` never occurs in base64 text, so the boundary cannot clash with a body.
            let boundary = format!("=_flagstone_{:016x}", random_u64());
            let content_type = format!("multipart/alternative; boundary=\"{boundary}\"");
            header(&mut out, "Content-Type", &content_type);
            out.push_str("\r\n");
            for (content_type, body) in [("text/plain", &mail.text), ("text/html", html)] {
                let _ = write!(out, "--{boundary}\r\n");
                part(&mut out, content_type, body);
            }
            let _ = write!(out, "--{boundary}--\r\n");
        }
    }
    Ok(out.into_bytes())
}

fn header(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, "{name}: {value}\r\n");
}

/// The headers and base64 body of one text part.
fn part(out: &mut String, content_type: &str, body: &str) {
    header(
        out,
        "Content-Type",
        &format!("{content_type}; charset=utf-8"),
    );
    header(out, "Content-Transfer-Encoding", "base64");
    out.push_str("\r\n");
    let encoded = STANDARD.encode(body);
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push_str("\r\n");
    }
}

/// A mailbox header value: refused when it holds control characters or no `@`; a
/// non-ASCII display name (`Café <a@b>`) is encoded.
fn address(value: &str, what: &str) -> Result<String, MailError> {
    let value = value.trim();
    if value.chars().any(char::is_control) || !value.contains('@') {
        return Err(MailError::permanent(format!(
            "{what} is not a valid mailbox"
        )));
    }
    match value.rsplit_once('<') {
        Some((name, addr)) if !name.is_ascii() && addr.ends_with('>') => Ok(format!(
            "{} <{addr}",
            unstructured(name.trim().trim_matches('"'))
        )),
        _ => Ok(value.to_owned()),
    }
}

/// `value` as is when it is short printable ASCII, otherwise as encoded words.
fn unstructured(value: &str) -> String {
    if value.len() <= 900 && value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return value.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in value.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?utf-8?b?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?utf-8?b?{}?=", STANDARD.encode(&chunk)));
    }
    words.join("\r\n ")
}

/// An RFC 5322 date in UTC, such as `Thu, 01 Jan 1970 00:00:00 +0000`.
fn date(now: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil(days);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
    )
}

/// Year, month (1-12) and day of the month of a day count since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723); // 2000-02-29
        assert_eq!(date(leap), "Tue, 29 Feb 2000 01:02:03 +0000");
        let later = UNIX_EPOCH + Duration::from_secs(1_767_225_599); // 2025-12-31
        assert_eq!(date(later), "Wed, 31 Dec 2025 23:59:59 +0000");
    }

    #[test]
    fn writes_multipart_alternative() {
        let mail = Mail::new(
            "ada@example.com",
            "Caf\u{e9}\r\nBcc: x@example.com",
            "plain",
        )
        .with_html("<p>rich</p>");
        let bytes = format("App <no-reply@example.com>", &mail, UNIX_EPOCH);
        let text = String::from_utf8(bytes.unwrap_or_default()).unwrap_or_default();
        assert!(text.starts_with("From: App <no-reply@example.com>\r\nTo: ada@example.com\r\n"));
        assert!(text.contains("Subject: =?utf-8?b?"), "{text}");
        assert!(!text.contains("\nBcc:"), "{text}");
        assert!(
            text.contains("@example.com>\r\nMIME-Version: 1.0\r\n"),
            "{text}"
        );
        assert!(text.contains("Content-Type: multipart/alternative; boundary=\"=_flagstone_"));
        assert!(text.contains(&STANDARD.encode("plain")));
        assert!(text.contains(&STANDARD.encode("<p>rich</p>")));
        assert!(text.trim_end().ends_with("--"));
    }

    #[test]
    fn refuses_header_injection_in_addresses() {
        let mail = Mail::new("ada@example.com\r\nBcc: x@example.com", "s", "t");
        assert!(format("a@example.com", &mail, UNIX_EPOCH).is_err());
        assert!(format("nobody", &Mail::new("a@example.com", "s", "t"), UNIX_EPOCH).is_err());
    }

    #[test]
    fn encodes_non_ascii_display_names() {
        let value = address("Caf\u{e9} <c@example.com>", "x").ok();
        assert_eq!(
            value.as_deref(),
            Some("=?utf-8?b?Q2Fmw6k=?= <c@example.com>")
        );
    }
}
