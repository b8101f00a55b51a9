//! The rules `#[derive(Validate)]` calls; usable by hand too. Each returns the
//! [`Violation`] when the value breaks the rule.

use super::Violation;

/// A value with a length: characters for strings, items for collections.
#[diagnostic::on_unimplemented(
    message = "`len` and `non_empty` need a string or a collection, not `{Self}`",
    label = "has no length"
)]
pub trait Length {
    /// The length the `len` rule checks.
    fn length(&self) -> usize;
}

impl Length for str {
    fn length(&self) -> usize {
        self.chars().count()
    }
}

impl Length for String {
    fn length(&self) -> usize {
        self.as_str().length()
    }
}

impl<T> Length for Vec<T> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<T> Length for [T] {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<K, V, S> Length for std::collections::HashMap<K, V, S> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<K, V> Length for std::collections::BTreeMap<K, V> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<T, const N: usize> Length for [T; N] {
    fn length(&self) -> usize {
        N
    }
}

impl<T> Length for std::collections::VecDeque<T> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<T, S> Length for std::collections::HashSet<T, S> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<T> Length for std::collections::BTreeSet<T> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<T: Length + ?Sized> Length for &T {
    fn length(&self) -> usize {
        (**self).length()
    }
}

impl<T: Length + ?Sized> Length for Box<T> {
    fn length(&self) -> usize {
        (**self).length()
    }
}

impl<B: Length + ToOwned + ?Sized> Length for std::borrow::Cow<'_, B> {
    fn length(&self) -> usize {
        (**self).length()
    }
}

/// A number the `range` rule compares.
#[diagnostic::on_unimplemented(
    message = "`range` needs a number, not `{Self}`",
    label = "not a number"
)]
pub trait Number: Copy {
    /// The value as `f64`, for comparison with the bounds.
    fn as_f64(self) -> f64;
}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl Number for $t {
            #[allow(clippy::cast_lossless, clippy::cast_precision_loss)]
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}

numbers!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

/// `len(min, max)`: characters of a string, items of a collection.
pub fn len<T: Length + ?Sized>(
    value: &T,
    min: Option<usize>,
    max: Option<usize>,
    items: bool,
) -> Option<Violation> {
    let n = value.length();
    let unit = if items { "items" } else { "characters" };
    let message = match (min, max) {
        (Some(lo), Some(hi)) if lo == hi && n != lo => format!("must be exactly {lo} {unit}"),
        (Some(lo), Some(hi)) if n < lo || n > hi => format!("must be {lo} to {hi} {unit}"),
        (Some(lo), None) if n < lo => format!("must be at least {lo} {unit}"),
        (_, Some(hi)) if n > hi => format!("must be at most {hi} {unit}"),
        (Some(lo), _) if n < lo => format!("must be at least {lo} {unit}"),
        _ => return None,
    };
    Some(Violation::new("length", message))
}

/// `range(min, max)`, bounds inclusive. NaN is always out of range.
pub fn range<N: Number>(value: N, min: Option<f64>, max: Option<f64>) -> Option<Violation> {
    let v = value.as_f64();
    let below = min.is_some_and(|lo| v.is_nan() || v < lo);
    let above = max.is_some_and(|hi| v.is_nan() || v > hi);
    if !below && !above {
        return None;
    }
    let message = match (min, max) {
        (Some(lo), Some(hi)) => format!("must be between {lo} and {hi}"),
        (Some(lo), None) => format!("must be at least {lo}"),
        (None, Some(hi)) => format!("must be at most {hi}"),
        (None, None) => return None,
    };
    Some(Violation::new("range", message))
}

/// `non_empty`: a string with a non-whitespace character, a collection with an item.
pub fn non_empty_str(value: &str) -> Option<Violation> {
    value
        .trim()
        .is_empty()
        .then(|| Violation::new("non_empty", "must not be empty"))
}

/// `non_empty` for collections.
pub fn non_empty<T: Length + ?Sized>(value: &T) -> Option<Violation> {
    (value.length() == 0).then(|| Violation::new("non_empty", "must not be empty"))
}

/// `required`: an `Option` that must be `Some`.
pub fn required<T>(value: &Option<T>) -> Option<Violation> {
    value
        .is_none()
        .then(|| Violation::new("required", "is required"))
}

/// `pattern`: the whole value matches `re` (the derive anchors the pattern).
pub fn pattern(value: &str, re: &regex::Regex, source: &str) -> Option<Violation> {
    (!re.is_match(value)).then(|| Violation::new("pattern", format!("must match {source}")))
}

/// `one_of`: the value is one of `allowed`.
pub fn one_of(value: &str, allowed: &[&str]) -> Option<Violation> {
    (!allowed.contains(&value))
        .then(|| Violation::new("one_of", format!("must be one of: {}", allowed.join(", "))))
}

/// `email`: `local@domain.tld` as browsers accept it (HTML's `type=email` rule), at most
/// 254 characters.
pub fn email(value: &str) -> Option<Violation> {
    let valid = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && local
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c))
                && domain.contains('.')
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
        });
    (!valid).then(|| Violation::new("email", "must be an email address"))
}

/// `url`: an absolute `http` or `https` URL with a host and no whitespace.
pub fn url(value: &str) -> Option<Violation> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    let valid = rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        !host.is_empty()
            && !host.starts_with(':')
            && value.len() <= 2048
            && !value.chars().any(|c| c.is_whitespace() || c.is_control())
    });
    (!valid).then(|| Violation::new("url", "must be an http or https URL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(len("ééé", Some(3), Some(3), false).is_none());
        assert!(len("日本語テキスト", None, Some(7), false).is_none());
        assert_eq!(
            len("ab", Some(3), Some(5), false).unwrap().message,
            "must be 3 to 5 characters"
        );
        assert_eq!(
            len(&vec![1], Some(2), None, true).unwrap().message,
            "must be at least 2 items"
        );
    }

    #[test]
    fn lengths_through_references_boxes_and_other_collections() {
        use std::{borrow::Cow, collections::*};
        assert_eq!(Length::length(&"ééé"), 3);
        assert_eq!(Cow::Borrowed("日本").length(), 2);
        assert_eq!(Box::<str>::from("abc").length(), 3);
        assert_eq!([1, 2, 3].length(), 3);
        assert_eq!(VecDeque::from([1]).length(), 1);
        assert_eq!(HashSet::from([1, 2]).length(), 2);
        assert_eq!(BTreeSet::<u8>::new().length(), 0);
        assert!(non_empty(&[0u8; 0]).is_some());
    }

    #[test]
    fn emails_and_urls() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(email(ok).is_none(), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@-b.co", "a@b..co",
        ] {
            assert!(email(bad).is_some(), "{bad}");
        }
        for ok in ["https://example.com", "http://localhost:3000/x?y=1#z"] {
            assert!(url(ok).is_none(), "{ok}");
        }
        for bad in [
            "example.com",
            "ftp://x.y",
            "https://",
            "https:// x",
            "javascript:alert(1)",
        ] {
            assert!(url(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn ranges_are_inclusive_and_refuse_nan() {
        assert!(range(5, Some(5.0), Some(10.0)).is_none());
        assert!(range(11u8, None, Some(10.0)).is_some());
        assert!(range(f64::NAN, Some(0.0), None).is_some());
    }
}
