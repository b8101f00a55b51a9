//! Content types recognised from a file's first bytes (its magic numbers), and the check of
//! an upload against the allow-list.

use crate::Error;

/// A content type that uploads can be checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnownType {
    /// The media type, such as `image/png`.
    pub mime: &'static str,
    /// The extension given to stored keys, such as `png`.
    pub ext: &'static str,
    /// Text without magic bytes: recognised by being UTF-8 without NUL bytes, and only
    /// when the client declares it.
    pub text: bool,
}

const fn binary(mime: &'static str, ext: &'static str) -> KnownType {
    KnownType {
        mime,
        ext,
        text: false,
    }
}

const fn text(mime: &'static str, ext: &'static str) -> KnownType {
    KnownType {
        mime,
        ext,
        text: true,
    }
}

/// The content types `files.allowed_types` may list. SVG and HTML are absent on purpose:
/// served from the app's origin, they run scripts.
pub const KNOWN_TYPES: &[KnownType] = &[
    binary("image/png", "png"),
    binary("image/jpeg", "jpg"),
    binary("image/gif", "gif"),
    binary("image/webp", "webp"),
    binary("image/avif", "avif"),
    binary("image/bmp", "bmp"),
    binary("image/tiff", "tif"),
    binary("application/pdf", "pdf"),
    binary("application/zip", "zip"),
    binary("application/gzip", "gz"),
    binary("audio/mpeg", "mp3"),
    binary("audio/ogg", "ogg"),
    binary("video/mp4", "mp4"),
    binary("video/webm", "webm"),
    binary("video/quicktime", "mov"),
    text("text/plain", "txt"),
    text("text/csv", "csv"),
    text("text/markdown", "md"),
    text("application/json", "json"),
];

/// How many leading bytes are read before the type is decided.
pub(crate) const SNIFF_LEN: usize = 8 * 1024;

/// The known type with this media type (parameters and case ignored; `image/jpg` is
/// `image/jpeg`).
pub(crate) fn by_mime(mime: &str) -> Option<&'static KnownType> {
    let mime = essence(mime);
    let mime = if mime == "image/jpg" {
        "image/jpeg"
    } else {
        &mime
    };
    KNOWN_TYPES.iter().find(|k| k.mime == mime)
}

/// The known type stored under this extension.
pub(crate) fn by_ext(ext: &str) -> Option<&'static KnownType> {
    KNOWN_TYPES.iter().find(|k| k.ext == ext)
}

/// `Image/PNG; charset=x` → `image/png`.
fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Decides the type of an upload from its first bytes (`head`, up to [`SNIFF_LEN`], all of
/// it when `complete`) and the type the client declared; `Err` is a 415 problem.
pub(crate) fn check(
    head: &[u8],
    complete: bool,
    declared: Option<&str>,
    allowed: &[String],
) -> Result<&'static KnownType, Error> {
    let declared = declared
        .map(essence)
        .filter(|d| !d.is_empty() && d != "application/octet-stream");
    let is_allowed = |k: &KnownType| allowed.iter().any(|a| by_mime(a) == Some(k));
    let accepted = || allowed.join(", ");
    if let Some(found) = infer::get(head) {
        let Some(known) = by_mime(found.mime_type()).filter(|k| is_allowed(k)) else {
            return Err(unsupported(
                "type_not_allowed",
                format!(
                    "the file is {}, which is not accepted here (accepted: {})",
                    found.mime_type(),
                    accepted()
                ),
            ));
        };
        if let Some(declared) = &declared
            && by_mime(declared) != Some(known)
        {
            return Err(unsupported(
                "type_mismatch",
                format!(
                    "the request says {declared}, but the file's bytes are {}",
                    known.mime
                ),
            ));
        }
        return Ok(known);
    }
    let candidate = match &declared {
        Some(declared) => by_mime(declared).filter(|k| k.text && is_allowed(k)),
        None => by_mime("text/plain").filter(|k| is_allowed(k)),
    };
    match candidate {
        Some(known) if looks_like_text(head, complete, known) => Ok(known),
        _ => Err(unsupported(
            "type_not_recognised",
            format!(
                "the file's type could not be recognised from its bytes as one accepted here ({})",
                accepted()
            ),
        )),
    }
}

/// UTF-8 without NUL bytes (an incomplete character at the cut is fine), and for JSON an
/// object or array.
fn looks_like_text(head: &[u8], complete: bool, known: &KnownType) -> bool {
    if head.contains(&0) {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => !complete && e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    if !valid {
        return false;
    }
    if known.mime == "application/json" {
        let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        return matches!(
            body.iter().find(|b| !b.is_ascii_whitespace()),
            Some(b'{' | b'[')
        );
    }
    true
}

fn unsupported(code: &'static str, detail: String) -> Error {
    Error::new(crate::ErrorKind::UnsupportedMediaType, detail).with_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

    fn allowed(types: &[&str]) -> Vec<String> {
        types.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn bytes_decide_and_the_header_must_agree() {
        let images = allowed(&["image/png", "image/jpeg"]);
        assert_eq!(check(PNG, true, None, &images).unwrap().ext, "png");
        assert_eq!(
            check(PNG, true, Some("image/png"), &images).unwrap().ext,
            "png"
        );
        assert_eq!(
            check(PNG, true, Some("application/octet-stream"), &images)
                .unwrap()
                .ext,
            "png"
        );
        let lie = check(PNG, true, Some("image/jpeg"), &images).unwrap_err();
        assert_eq!(lie.code(), "type_mismatch");
        let pdf = check(b"%PDF-1.7\n...", true, Some("image/png"), &images).unwrap_err();
        assert_eq!(pdf.code(), "type_not_allowed");
        let html = check(b"<html><script>", true, Some("image/png"), &images).unwrap_err();
        assert_eq!(html.code(), "type_not_allowed");
        let words = check(b"some words", true, Some("image/png"), &images).unwrap_err();
        assert_eq!(words.code(), "type_not_recognised");
        assert_eq!(words.kind(), crate::ErrorKind::UnsupportedMediaType);
    }

    #[test]
    fn text_types_need_text_and_a_declaration() {
        let texts = allowed(&["text/csv", "application/json"]);
        assert_eq!(
            check(b"a,b\n1,2\n", true, Some("text/csv"), &texts)
                .unwrap()
                .ext,
            "csv"
        );
        assert_eq!(
            check(
                b" {\"a\": 1}",
                true,
                Some("application/json; charset=utf-8"),
                &texts
            )
            .unwrap()
            .ext,
            "json"
        );
        assert!(
            check(b"a,b", true, None, &texts).is_err(),
            "undeclared text"
        );
        assert!(
            check(b"a\0b", true, Some("text/csv"), &texts).is_err(),
            "NUL byte"
        );
        assert!(
            check(b"\xff\xfe", true, Some("text/csv"), &texts).is_err(),
            "not UTF-8"
        );
        assert!(check(b"abc", true, Some("application/json"), &texts).is_err());
        // A character cut by the sniffing window is fine; at the end of the file it is not.
        assert!(check(b"caf\xc3", false, Some("text/csv"), &texts).is_ok());
        assert!(check(b"caf\xc3", true, Some("text/csv"), &texts).is_err());
        assert!(
            check(PNG, true, Some("text/csv"), &texts).is_err(),
            "a PNG is not CSV"
        );
    }

    #[test]
    fn lookups_ignore_case_and_parameters() {
        assert_eq!(by_mime("IMAGE/JPG").unwrap().mime, "image/jpeg");
        assert_eq!(by_mime("text/plain; charset=utf-8").unwrap().ext, "txt");
        assert!(by_mime("image/svg+xml").is_none());
        assert_eq!(by_ext("webp").unwrap().mime, "image/webp");
    }
}
