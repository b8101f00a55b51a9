//! Derive macros for Flagstone, re-exported by the `flagstone` crate: use them through
//! `flagstone::validation::Validate` (or `flagstone::prelude::*`), not from here. The
//! generated code names `::flagstone` paths only.
//!
//! The rule grammar lives in one module so that every derive accepting rules (today
//! `#[validate(...)]`, later `#[field(...)]`) parses them the same way.

mod rules;
mod serde_attrs;
mod types;
mod validate;

use proc_macro::TokenStream;

/// Derives `flagstone::validation::Validate` from `#[validate(...)]` field attributes.
///
/// ```ignore
/// #[derive(Deserialize, Validate)]
/// #[serde(rename_all = "camelCase")]
/// struct CreatePost {
///     #[validate(len(min = 3, max = 120))]
///     title: String,
///     #[validate(one_of("draft", "published"))]
///     status: String,
///     #[validate(nested)]
///     items: Vec<Item>,
/// }
/// ```
///
/// The rules: `required`, `non_empty`, `len(min, max)`, `range(min, max)`,
/// `pattern = "regex"`, `email`, `url`, `one_of("a", ..)`, `custom = path::to::fn`,
/// `nested` and `each(rules..)`; see `flagstone::validation` for what each checks. Paths
/// use the JSON names (`#[serde(rename)]`, `#[serde(rename_all)]`); skipped fields are not
/// checked; a `#[serde(flatten)]` field with `nested` is checked at the same level.
#[proc_macro_derive(Validate, attributes(validate))]
pub fn derive_validate(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    validate::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
