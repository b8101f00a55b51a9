//! Request ids: accept a well-formed incoming `x-request-id`, or make one.

use std::{
    hash::{BuildHasher, RandomState},
    sync::{
        LazyLock,
        atomic::{AtomicU64, Ordering},
    },
};

use http::{HeaderName, HeaderValue, request::Parts};

/// The header that carries the request id, in and out.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in the request's extensions.
///
/// ```
/// use flagstone::{axum::Extension, http::RequestId};
///
/// async fn handler(Extension(id): Extension<RequestId>) -> String {
///     format!("you are request {}", id.as_str())
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only visible ASCII is ever stored, so this cannot fail.
        self.0.to_str().unwrap_or_default()
    }

    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.0
    }

    /// The incoming id when it is well-formed (1-128 characters of `A-Z a-z 0-9 - _ . : / + =`),
    /// otherwise a fresh one. A malformed incoming header — log-injection attempts included —
    /// is removed from `headers`, so that nothing further in reads it.
    pub(crate) fn from_request_or_new(headers: &mut http::HeaderMap) -> Self {
        match headers.get(&REQUEST_ID_HEADER) {
            Some(value) if is_well_formed(value.as_bytes()) => Self(value.clone()),
            Some(_) => {
                headers.remove(&REQUEST_ID_HEADER);
                Self::generate()
            }
            None => Self::generate(),
        }
    }

    /// 32 lowercase hex characters: a random per-process prefix and a counter, so ids are
    /// unique across instances without a random draw per request.
    pub(crate) fn generate() -> Self {
        static PREFIX: LazyLock<u64> =
            LazyLock::new(|| RandomState::new().hash_one(std::process::id()));
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 32];
        hex(*PREFIX, &mut buf[..16]);
        hex(n, &mut buf[16..]);
        // One allocation, shared by the clones in the extensions and the response headers.
        // Hex digits are always a valid header value.
        Self(
            HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(buf))
                .unwrap_or(HeaderValue::from_static("0")),
        )
    }
}

fn hex(mut n: u64, out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n & 0xf) as usize];
        n >>= 4;
    }
}

fn is_well_formed(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b))
}

/// Lets handlers take the id as an extractor: `id: RequestId`.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(RequestId::generate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_unique_hex() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn malformed_incoming_ids_are_replaced() {
        for bad in [
            "",
            "has space",
            "new\u{7f}line",
            &"x".repeat(129),
            "quote\"d",
        ] {
            assert!(!is_well_formed(bad.as_bytes()), "{bad:?}");
        }
        assert!(is_well_formed(b"req-123_abc.def:1/2+3="));
    }
}
