//! Reads `#[model(...)]`, `#[index(...)]` and `#[field(...)]` into typed options; every
//! malformed or unknown item is an error spanned on it. Cross-field checks are in
//! [`super::ir`].

use proc_macro2::Span;
use quote::ToTokens;
use syn::{
    Attribute, Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Meta, Token, UnOp,
    punctuated::Punctuated, spanned::Spanned,
};

use crate::rules::{Errors, RULE_NAMES, Rules, attr_metas};

/// The keys of `#[field(...)]` besides the validation rules.
pub(crate) const FIELD_KEYS: &[&str] = &[
    "hidden",
    "read_only",
    "write_only",
    "filter",
    "sort",
    "select",
    "owner",
    "unique",
    "default",
];

/// What `#[model(...)]` says.
#[derive(Default)]
pub(crate) struct ModelAttrs {
    pub(crate) collection: Option<LitStr>,
    /// The `timestamps` key, for errors about the fields it needs.
    pub(crate) timestamps: Option<Ident>,
}

/// What one `#[field(...)]` (or several on the same field) says.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) rules: Rules,
    /// `hidden`, `read_only`, `write_only`, in the order written.
    pub(crate) visibility: Vec<Ident>,
    pub(crate) filter: Option<Ident>,
    pub(crate) sort: Option<Ident>,
    pub(crate) select: Option<Ident>,
    pub(crate) owner: Option<Ident>,
    pub(crate) unique: Option<Ident>,
    pub(crate) default: Option<Expr>,
    /// Any key at all, for "this field takes none".
    pub(crate) first: Option<Span>,
}

/// One `#[index(...)]`.
pub(crate) struct IndexAttr {
    /// The whole attribute, for errors about it.
    pub(crate) tokens: proc_macro2::TokenStream,
    /// `(field, 1 | -1 | "text")`, in order.
    pub(crate) keys: Vec<(Ident, IndexKey)>,
    pub(crate) unique: bool,
    pub(crate) sparse: bool,
    /// The TTL in seconds.
    pub(crate) ttl: Option<(u64, Span)>,
    pub(crate) name: Option<String>,
}

/// The direction of an index key, or a text key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexKey {
    Asc,
    Desc,
    Text,
}

/// The key closest to `name` among `known`, if it is a likely typo.
pub(crate) fn did_you_mean(name: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| (distance(name, k), *k))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2 || (d <= 3 && name.len() > 6) => {
            format!(" (did you mean `{k}`?)")
        }
        _ => String::new(),
    }
}

/// Levenshtein distance, for suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

fn key_name(meta: &Meta) -> String {
    meta.path().to_token_stream().to_string().replace(' ', "")
}

/// A key without a value.
fn flag(meta: &Meta) -> syn::Result<Ident> {
    match meta {
        Meta::Path(path) => path
            .get_ident()
            .cloned()
            .ok_or_else(|| syn::Error::new_spanned(path, "expected a key")),
        _ => {
            let name = key_name(meta);
            Err(syn::Error::new_spanned(
                meta,
                format!("`{name}` takes no value: write just `{name}`"),
            ))
        }
    }
}

fn lit_str(meta: &Meta, example: &str) -> syn::Result<LitStr> {
    if let Meta::NameValue(nv) = meta
        && let Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) = &nv.value
    {
        return Ok(s.clone());
    }
    Err(syn::Error::new_spanned(
        meta,
        format!("expected a string: {example}"),
    ))
}

/// Sets `slot` once; a repeated key is an error.
fn once<T>(slot: &mut Option<T>, value: T, meta: &Meta, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(Some(syn::Error::new_spanned(
            meta,
            format!("duplicate `{}`", key_name(meta)),
        )));
    } else {
        *slot = Some(value);
    }
}

impl ModelAttrs {
    pub(crate) fn from_attrs(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut out = Self::default();
        let mut errors = Errors::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("model")) {
            let metas = match attr_metas(attr) {
                Ok(metas) => metas,
                Err(error) => {
                    errors.push(Some(error));
                    continue;
                }
            };
            for meta in metas {
                let name = key_name(&meta);
                match name.as_str() {
                    "collection" => match lit_str(&meta, "collection = \"posts\"") {
                        Ok(lit) if lit.value().is_empty() || lit.value().contains('$') => {
                            errors.push(Some(syn::Error::new_spanned(
                                lit,
                                "a collection name is not empty and has no `$`",
                            )));
                        }
                        Ok(lit) => once(&mut out.collection, lit, &meta, &mut errors),
                        Err(error) => errors.push(Some(error)),
                    },
                    "timestamps" => match flag(&meta) {
                        Ok(ident) => once(&mut out.timestamps, ident, &meta, &mut errors),
                        Err(error) => errors.push(Some(error)),
                    },
                    _ => errors.push(Some(syn::Error::new_spanned(
                        meta.path(),
                        format!(
                            "unknown key `{name}` in #[model(...)]{}; expected `collection = \"..\"` or `timestamps`",
                            did_you_mean(&name, &["collection", "timestamps"])
                        ),
                    ))),
                }
            }
        }
        errors.finish()?;
        Ok(out)
    }
}

impl FieldAttrs {
    pub(crate) fn from_attrs(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut out = Self::default();
        let mut errors = Errors::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("field")) {
            let metas = match attr_metas(attr) {
                Ok(metas) => metas,
                Err(error) => {
                    errors.push(Some(error));
                    continue;
                }
            };
            if out.first.is_none() {
                out.first = metas.first().map(Spanned::span);
            }
            let (rules, rest) = match Rules::parse_metas(metas) {
                Ok(parsed) => parsed,
                Err(error) => {
                    errors.push(Some(error));
                    continue;
                }
            };
            errors.push(out.rules.extend(rules).err());
            for meta in rest {
                errors.push(out.key(&meta).err());
            }
        }
        errors.finish()?;
        Ok(out)
    }

    fn key(&mut self, meta: &Meta) -> syn::Result<()> {
        let name = key_name(meta);
        let mut errors = Errors::default();
        match name.as_str() {
            "hidden" | "read_only" | "write_only" => self.visibility.push(flag(meta)?),
            "filter" => once(&mut self.filter, flag(meta)?, meta, &mut errors),
            "sort" => once(&mut self.sort, flag(meta)?, meta, &mut errors),
            "select" => once(&mut self.select, flag(meta)?, meta, &mut errors),
            "owner" => once(&mut self.owner, flag(meta)?, meta, &mut errors),
            "unique" => once(&mut self.unique, flag(meta)?, meta, &mut errors),
            "default" => match meta {
                Meta::NameValue(nv) => once(&mut self.default, nv.value.clone(), meta, &mut errors),
                _ => {
                    return Err(syn::Error::new_spanned(
                        meta,
                        "write `default = <expression>`, like `default = 0` or `default = String::from(\"draft\")`",
                    ));
                }
            },
            _ => {
                let known: Vec<&str> = FIELD_KEYS.iter().chain(RULE_NAMES).copied().collect();
                return Err(syn::Error::new_spanned(
                    meta.path(),
                    format!(
                        "unknown key `{name}` in #[field(...)]{}; expected one of: {}, or a validation rule: {}",
                        did_you_mean(&name, &known),
                        FIELD_KEYS.join(", "),
                        RULE_NAMES.join(", "),
                    ),
                ));
            }
        }
        errors.finish()
    }
}

impl IndexAttr {
    pub(crate) fn from_attrs(attrs: &[Attribute]) -> syn::Result<Vec<Self>> {
        let mut out = Vec::new();
        let mut errors = Errors::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("index")) {
            match Self::parse(attr) {
                Ok(index) => out.push(index),
                Err(error) => errors.push(Some(error)),
            }
        }
        errors.finish()?;
        Ok(out)
    }

    fn parse(attr: &Attribute) -> syn::Result<Self> {
        let mut index = Self {
            tokens: attr.to_token_stream(),
            keys: Vec::new(),
            unique: false,
            sparse: false,
            ttl: None,
            name: None,
        };
        let mut errors = Errors::default();
        let mut has_keys = false;
        for meta in attr_metas(attr)? {
            let name = key_name(&meta);
            let result = match name.as_str() {
                "fields" | "text" if has_keys => Err(syn::Error::new_spanned(
                    &meta,
                    "an index has one `fields(...)` or `text(...)`",
                )),
                "fields" => {
                    has_keys = true;
                    index.fields(&meta)
                }
                "text" => {
                    has_keys = true;
                    index.text(&meta)
                }
                "unique" => flag(&meta).map(|_| index.unique = true),
                "sparse" => flag(&meta).map(|_| index.sparse = true),
                "ttl" => ttl(&meta).map(|secs| index.ttl = Some((secs, meta.span()))),
                "name" => {
                    lit_str(&meta, "name = \"by_author\"").map(|s| index.name = Some(s.value()))
                }
                _ => Err(syn::Error::new_spanned(
                    meta.path(),
                    format!(
                        "unknown key `{name}` in #[index(...)]{}; expected fields(a = 1, b = -1), text(a, b), unique, sparse, ttl = \"30d\" or name = \"..\"",
                        did_you_mean(
                            &name,
                            &["fields", "text", "unique", "sparse", "ttl", "name"]
                        )
                    ),
                )),
            };
            errors.push(result.err());
        }
        if !has_keys {
            errors.push(Some(syn::Error::new_spanned(
                attr,
                "an index needs its keys: #[index(fields(author = 1, created_at = -1))] or #[index(text(title, body))]",
            )));
        }
        errors.finish()?;
        Ok(index)
    }

    fn fields(&mut self, meta: &Meta) -> syn::Result<()> {
        let example = "fields(author = 1, created_at = -1)";
        let Meta::List(list) = meta else {
            return Err(syn::Error::new_spanned(meta, format!("write {example}")));
        };
        let items = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
        if items.is_empty() {
            return Err(syn::Error::new_spanned(
                list,
                format!("no keys: write {example}"),
            ));
        }
        for item in items {
            let (Meta::NameValue(nv), Some(ident)) = (&item, item.path().get_ident()) else {
                return Err(syn::Error::new_spanned(
                    &item,
                    format!(
                        "each key is `field = 1` (ascending) or `field = -1` (descending): {example}"
                    ),
                ));
            };
            let key = match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(i), ..
                }) if i.base10_digits() == "1" => IndexKey::Asc,
                Expr::Lit(ExprLit {
                    lit: Lit::Int(i), ..
                }) if i.base10_digits() == "-1" => IndexKey::Desc,
                Expr::Unary(ExprUnary {
                    op: UnOp::Neg(_),
                    expr,
                    ..
                }) if matches!(&**expr, Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) if i.base10_digits() == "1") => {
                    IndexKey::Desc
                }
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "an index key is 1 (ascending) or -1 (descending)",
                    ));
                }
            };
            self.keys.push((ident.clone(), key));
        }
        Ok(())
    }

    fn text(&mut self, meta: &Meta) -> syn::Result<()> {
        let Meta::List(list) = meta else {
            return Err(syn::Error::new_spanned(meta, "write text(title, body)"));
        };
        let idents = list.parse_args_with(Punctuated::<Ident, Token![,]>::parse_terminated)?;
        if idents.is_empty() {
            return Err(syn::Error::new_spanned(
                list,
                "no fields: write text(title, body)",
            ));
        }
        self.keys
            .extend(idents.into_iter().map(|ident| (ident, IndexKey::Text)));
        Ok(())
    }
}

/// `ttl = "30d"` (`s`, `m`, `h`, `d` or `w`) or `ttl = 3600` (seconds).
fn ttl(meta: &Meta) -> syn::Result<u64> {
    let message = "ttl is a duration: ttl = \"30d\" (s, m, h, d or w) or a number of seconds";
    let Meta::NameValue(nv) = meta else {
        return Err(syn::Error::new_spanned(meta, message));
    };
    let parsed = match &nv.value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<u64>().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let value = s.value();
            let value = value.trim();
            let split = value.len().saturating_sub(1);
            let (number, unit) = value.split_at(split);
            let scale = match unit {
                "s" => Some(1),
                "m" => Some(60),
                "h" => Some(3600),
                "d" => Some(86_400),
                "w" => Some(604_800),
                _ => None,
            };
            scale.and_then(|scale| number.parse::<u64>().ok()?.checked_mul(scale))
        }
        _ => None,
    };
    parsed.ok_or_else(|| syn::Error::new_spanned(&nv.value, message))
}
