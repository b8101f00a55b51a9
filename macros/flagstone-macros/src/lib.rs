//! Derive macros for Flagstone, re-exported by the `flagstone` crate: use them through
//! `flagstone::validation::Validate` (or `flagstone::prelude::*`), not from here. The
//! generated code names `::flagstone` paths only.
//!
//! The rule grammar lives in one module so that every derive accepting rules
//! (`#[validate(...)]` and `#[field(...)]`) parses them the same way.

mod model;
mod resource;
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

/// Derives `flagstone::model::Model` (and `Listable`, `Serialize`, `Deserialize`) for a
/// struct stored in a collection, with its `{Name}Create`, `{Name}Patch` and `{Name}View`
/// types.
///
/// ```ignore
/// #[derive(Model)]
/// #[model(collection = "posts", timestamps)]
/// #[index(fields(author = 1, created_at = -1))]
/// #[index(text(title, body))]
/// pub struct Post {
///     pub id: Id<Post>,
///     #[field(len(min = 3, max = 120), filter, sort)]
///     pub title: String,
///     #[field(one_of("draft", "published"), default = "draft".to_owned(), filter)]
///     pub status: String,
///     #[field(owner)]
///     pub author: Id<User>,
///     pub created_at: Timestamp,
///     pub updated_at: Timestamp,
/// }
/// ```
///
/// `#[model(collection = "..", timestamps)]`: the collection defaults to the snake-case
/// plural of the name; `timestamps` needs `created_at` and `updated_at` fields of type
/// `Timestamp`, set by the server. `#[index(fields(a = 1, b = -1), unique, sparse,
/// ttl = "30d", name = "..")]` and `#[index(text(a, b))]` declare indexes.
///
/// `#[field(...)]` takes the validation rules of `#[validate(...)]` and: `hidden` (never
/// shown nor accepted), `read_only` (shown, never accepted), `write_only` (accepted, never
/// shown), `owner` (an `Id<User>` set from the caller; read-only), `unique` (an index),
/// `filter`, `sort` and `select` (list queries: strings, numbers, booleans, timestamps and
/// ids, or a `Vec` of them), and `default = <expr>` (the value when a body leaves the
/// field out; also when a stored document lacks it). A hidden or read-only field without
/// a default starts as `Default::default()` (hooks set it). Enumerations are `String`
/// fields with `one_of(...)`. The type decides the stored kind from its last path
/// segment: `String`, integers up to `i64`/`u32`, `f32`/`f64`, `bool`, `Timestamp`,
/// `Id<T>`, `Option<..>` and `Vec<..>`; anything else is an embedded document (with its
/// own serde and `ToSchema` impls).
#[proc_macro_derive(Model, attributes(model, index, field))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    model::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `flagstone::resource::Resource` for a model: its path, tag, hooks and who may
/// perform each operation.
///
/// ```ignore
/// #[derive(Model, Resource)]
/// #[resource(path = "/posts", list = public, get = public, create = authenticated,
///            update = owner_or("admin"), delete = owner, hooks = PostHooks)]
/// pub struct Post { .. }
/// ```
///
/// Rules: `public`, `authenticated`, `role("x")`, `owner`, `owner_or("x")` and `disabled`
/// (no route). Every operation (`list`, `get`, `create`, `update`, `delete`) needs a rule,
/// its own or `default = ..`: a forgotten one is a compile error, never an open endpoint.
/// `path` defaults to `/` and the collection; `tag` to the path without its slash.
#[proc_macro_derive(Resource, attributes(resource))]
pub fn derive_resource(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    resource::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
