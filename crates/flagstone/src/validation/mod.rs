//! Validation: the [`Validate`] trait, its rules, and the field paths of violations.
//!
//! Types usually get `Validate` from `#[derive(Validate)]`, whose `#[validate(...)]`
//! rules are the same syntax `#[derive(Model)]` accepts in `#[field(...)]`:
//!
//! | rule | applies to | checks | code |
//! | --- | --- | --- | --- |
//! | `required` | `Option<T>` | is `Some` | `required` |
//! | `non_empty` | strings, `Vec`s | a string has a non-whitespace character, a `Vec` an item | `non_empty` |
//! | `len(min = a, max = b)` | strings (characters, not bytes), `Vec`s (items) | the length is within bounds | `length` |
//! | `range(min = a, max = b)` | numbers | the value is within bounds (inclusive) | `range` |
//! | `pattern = "regex"` | strings | the whole value matches (compiled once) | `pattern` |
//! | `email` | strings | an e-mail address | `email` |
//! | `url` | strings | an absolute `http`/`https` URL | `url` |
//! | `one_of("a", "b")` | strings | the value is one of these | `one_of` |
//! | `custom = path::to::fn` | anything | `fn(&T) -> Result<(), Violation>` | the violation's |
//! | `nested` | `Validate` types, their `Vec`s and `Option`s | the inner value's own rules, under this field's path | inner codes |
//! | `each(rules...)` | `Vec`s | the rules, on every element (`tags[2]`) | inner codes |
//!
//! Rules on an `Option<T>` field apply when it is `Some`. Every rule is checked in one
//! pass and every violation is reported, each with its path (`items[2].qty`), a code and
//! a message, as one [`Error::validation`] problem.
//!
//! The same declarations describe the OpenAPI schema ([`Validate::constraints`]):
//! `minLength`/`maxLength` (or `minItems`/`maxItems`), `minimum`/`maximum`, `pattern`,
//! `format` and `enum`, so the documentation cannot drift from the checks.
//!
//! ```
//! use flagstone::prelude::*;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, Validate)]
//! #[serde(rename_all = "camelCase")]
//! struct NewPost {
//!     #[validate(len(min = 3, max = 120))]
//!     title: String,
//!     #[validate(len(max = 10), each(len(min = 1, max = 20)))]
//!     tags: Vec<String>,
//!     #[validate(url)]
//!     cover_url: Option<String>,
//! }
//!
//! let post: NewPost = serde_json::from_str(
//!     r#"{"title": "Hi", "tags": ["rust", ""], "coverUrl": "ftp://x"}"#,
//! )?;
//! let error = post.validate().unwrap_err();
//! let paths: Vec<&str> = error.field_errors().iter().map(|e| e.field.as_str()).collect();
//! assert_eq!(paths, ["title", "tags[1]", "coverUrl"]);
//! # Ok::<(), serde_json::Error>(())
//! ```

pub mod rules;
mod valid;

use std::borrow::Cow;

pub use self::valid::{InputLimits, Valid};
use crate::{Error, FieldError};
pub use flagstone_macros::Validate;

/// A value whose rules can be checked.
pub trait Validate {
    /// Checks every rule, pushing each violation under `path`.
    fn validate_at(&self, path: &mut FieldPath, errors: &mut Vec<FieldError>);

    /// Checks every rule; `Err` is a validation problem listing every violation.
    fn validate(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        self.validate_at(&mut FieldPath::default(), &mut errors);
        match errors.is_empty() {
            true => Ok(()),
            false => Err(Error::validation(errors)),
        }
    }

    /// The constraints of each field, for the OpenAPI schema.
    fn constraints() -> Vec<Constraint>
    where
        Self: Sized,
    {
        Vec::new()
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_at(&self, path: &mut FieldPath, errors: &mut Vec<FieldError>) {
        for (i, item) in self.iter().enumerate() {
            let mark = path.push_index(i);
            item.validate_at(path, errors);
            path.truncate(mark);
        }
    }
}

impl<T: Validate> Validate for Option<T> {
    fn validate_at(&self, path: &mut FieldPath, errors: &mut Vec<FieldError>) {
        if let Some(value) = self {
            value.validate_at(path, errors);
        }
    }
}

impl<T: Validate + ?Sized> Validate for Box<T> {
    fn validate_at(&self, path: &mut FieldPath, errors: &mut Vec<FieldError>) {
        (**self).validate_at(path, errors);
    }
}

/// The path of the value being checked, as JSON spells it: `items[2].qty`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// Appends `.name` (or `name` at the root); returns a mark for [`FieldPath::truncate`].
    pub fn push_field(&mut self, name: &str) -> usize {
        let mark = self.0.len();
        if !self.0.is_empty() {
            self.0.push('.');
        }
        self.0.push_str(name);
        mark
    }

    /// Appends `[index]`; returns a mark for [`FieldPath::truncate`].
    pub fn push_index(&mut self, index: usize) -> usize {
        use std::fmt::Write;
        let mark = self.0.len();
        let _ = write!(self.0, "[{index}]");
        mark
    }

    /// Goes back to a mark.
    pub fn truncate(&mut self, mark: usize) {
        self.0.truncate(mark);
    }

    /// The path so far.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A field error at this path.
    pub fn error(&self, violation: Violation) -> FieldError {
        FieldError::new(self.0.clone(), violation.code, violation.message)
    }
}

/// One broken rule: a machine code and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Stable, machine-readable: `length`, `range`, `email`, ...
    pub code: Cow<'static, str>,
    /// Human-readable: "must be 3 to 120 characters".
    pub message: Cow<'static, str>,
}

impl Violation {
    /// A violation with a code and a message.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// What one field's rules promise, as the OpenAPI schema states it.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Constraint {
    /// The field, as JSON names it.
    pub field: &'static str,
    /// `minLength` (strings) or `minItems` (arrays).
    pub min_length: Option<u64>,
    /// `maxLength` or `maxItems`.
    pub max_length: Option<u64>,
    /// Whether the bounds above count items (arrays) rather than characters.
    pub counts_items: bool,
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `pattern`.
    pub pattern: Option<&'static str>,
    /// `format`: `email` or `uri`.
    pub format: Option<&'static str>,
    /// `enum`.
    pub one_of: Option<&'static [&'static str]>,
    /// Listed in `required`.
    pub required: bool,
    /// What every element promises (`items`), from `each(...)`.
    pub items: Option<Box<Constraint>>,
}

impl Constraint {
    /// No constraint yet on `field`.
    pub const fn new(field: &'static str) -> Self {
        Self {
            field,
            min_length: None,
            max_length: None,
            counts_items: false,
            minimum: None,
            maximum: None,
            pattern: None,
            format: None,
            one_of: None,
            required: false,
            items: None,
        }
    }
}
