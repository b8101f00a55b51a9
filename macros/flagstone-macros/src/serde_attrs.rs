//! The `#[serde(...)]` attributes that decide a field's JSON name and whether it is read
//! at all. Read leniently: anything else, or anything malformed, is serde's to report.

use syn::{
    Attribute, Expr, ExprLit, Field, Ident, Lit, Meta, Token, ext::IdentExt, punctuated::Punctuated,
};

/// Serde's `rename_all` rules, applied to a field name written in `snake_case`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "lowercase" => Self::Lower,
            "UPPERCASE" => Self::Upper,
            "PascalCase" => Self::Pascal,
            "camelCase" => Self::Camel,
            "snake_case" => Self::Snake,
            "SCREAMING_SNAKE_CASE" => Self::ScreamingSnake,
            "kebab-case" => Self::Kebab,
            "SCREAMING-KEBAB-CASE" => Self::ScreamingKebab,
            _ => return None,
        })
    }

    /// The field name as serde spells it under this rule.
    pub(crate) fn apply(self, field: &str) -> String {
        match self {
            Self::Lower | Self::Snake => field.to_owned(),
            Self::Upper | Self::ScreamingSnake => field.to_ascii_uppercase(),
            Self::Pascal => {
                let mut out = String::with_capacity(field.len());
                let mut capitalize = true;
                for c in field.chars() {
                    if c == '_' {
                        capitalize = true;
                    } else if capitalize {
                        out.push(c.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            Self::Camel => {
                let pascal = Self::Pascal.apply(field);
                let mut chars = pascal.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => pascal,
                }
            }
            Self::Kebab => field.replace('_', "-"),
            Self::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

/// What the struct's `#[serde(...)]` says about its fields.
#[derive(Debug, Default)]
pub(crate) struct SerdeContainer {
    /// `rename_all` (or its `deserialize` half).
    pub(crate) rename_all: Option<RenameRule>,
    /// `default`: every missing field is filled in.
    pub(crate) default: bool,
}

impl SerdeContainer {
    pub(crate) fn from_attrs(attrs: &[Attribute]) -> Self {
        let mut container = Self::default();
        for meta in serde_metas(attrs) {
            if meta.path().is_ident("rename_all") {
                if let Some(rule) =
                    deserialize_name(&meta).and_then(|name| RenameRule::from_name(&name))
                {
                    container.rename_all = Some(rule);
                }
            } else if meta.path().is_ident("default") {
                container.default = true;
            }
        }
        container
    }
}

/// What a field's `#[serde(...)]` says about it.
#[derive(Debug, Default)]
pub(crate) struct SerdeField {
    /// `rename` (or its `deserialize` half).
    pub(crate) rename: Option<String>,
    /// `skip` or `skip_deserializing`: the field is never read.
    pub(crate) skipped: bool,
    /// `flatten`: the field's own fields sit at this level.
    pub(crate) flatten: bool,
    /// `default`: a missing field is filled in.
    pub(crate) default: bool,
}

impl SerdeField {
    pub(crate) fn from_attrs(attrs: &[Attribute]) -> Self {
        let mut field = Self::default();
        for meta in serde_metas(attrs) {
            let path = meta.path();
            if path.is_ident("rename") {
                if let Some(name) = deserialize_name(&meta) {
                    field.rename = Some(name);
                }
            } else if path.is_ident("skip") || path.is_ident("skip_deserializing") {
                field.skipped = true;
            } else if path.is_ident("flatten") {
                field.flatten = true;
            } else if path.is_ident("default") {
                field.default = true;
            }
        }
        field
    }
}

/// The name JSON gives `field`: its `rename`, else the container's `rename_all` applied
/// to the identifier (raw identifiers lose their `r#`).
pub(crate) fn json_name(field: &Field, serde: &SerdeField, container: &SerdeContainer) -> String {
    if let Some(name) = &serde.rename {
        return name.clone();
    }
    let ident = field
        .ident
        .as_ref()
        .map(Ident::unraw)
        .map(|i| i.to_string())
        .unwrap_or_default();
    match container.rename_all {
        Some(rule) => rule.apply(&ident),
        None => ident,
    }
}

/// Every item of every `#[serde(...)]` attribute that parses as a list of metas.
fn serde_metas(attrs: &[Attribute]) -> Vec<Meta> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("serde"))
        .filter_map(|attr| {
            attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .ok()
        })
        .flatten()
        .collect()
}

/// The string of `key = "..."`, or of `deserialize = "..."` in `key(serialize = "...",
/// deserialize = "...")`.
fn deserialize_name(meta: &Meta) -> Option<String> {
    match meta {
        Meta::NameValue(nv) => string(&nv.value),
        Meta::List(list) => list
            .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            .ok()?
            .into_iter()
            .find_map(|inner| match inner {
                Meta::NameValue(nv) if nv.path.is_ident("deserialize") => string(&nv.value),
                _ => None,
            }),
        Meta::Path(_) => None,
    }
}

/// A string literal (also one a `macro_rules!` passed in, wrapped in an invisible group).
fn string(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        Expr::Group(group) => string(&group.expr),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_rules_match_serde() {
        let cases = [
            (RenameRule::Lower, "created_at", "created_at"),
            (RenameRule::Upper, "created_at", "CREATED_AT"),
            (RenameRule::Pascal, "created_at", "CreatedAt"),
            (RenameRule::Camel, "created_at", "createdAt"),
            (RenameRule::Snake, "created_at", "created_at"),
            (RenameRule::ScreamingSnake, "created_at", "CREATED_AT"),
            (RenameRule::Kebab, "created_at", "created-at"),
            (RenameRule::ScreamingKebab, "created_at", "CREATED-AT"),
            (RenameRule::Camel, "x", "x"),
            (RenameRule::Camel, "url2_host", "url2Host"),
        ];
        for (rule, field, expected) in cases {
            assert_eq!(rule.apply(field), expected, "{rule:?} {field}");
        }
    }

    #[test]
    fn names_come_from_rename_then_rename_all() {
        let input: syn::DeriveInput = syn::parse_quote! {
            #[serde(deny_unknown_fields, rename_all(serialize = "snake_case", deserialize = "kebab-case"))]
            struct S {
                first_name: String,
                #[serde(rename = "Last")]
                last_name: String,
                #[serde(rename(deserialize = "nick"))]
                nick_name: String,
                r#type: String,
                #[serde(skip_deserializing, default)]
                cache: String,
                #[serde(flatten)]
                rest: Rest,
            }
        };
        let container = SerdeContainer::from_attrs(&input.attrs);
        assert_eq!(container.rename_all, Some(RenameRule::Kebab));
        let syn::Data::Struct(data) = &input.data else {
            unreachable!()
        };
        let names: Vec<String> = data
            .fields
            .iter()
            .map(|f| json_name(f, &SerdeField::from_attrs(&f.attrs), &container))
            .collect();
        assert_eq!(
            names,
            ["first-name", "Last", "nick", "type", "cache", "rest"]
        );
        let cache = SerdeField::from_attrs(&data.fields.iter().nth(4).unwrap().attrs);
        assert!(cache.skipped && cache.default);
        assert!(SerdeField::from_attrs(&data.fields.iter().nth(5).unwrap().attrs).flatten);
    }

    #[test]
    fn unknown_or_malformed_serde_attributes_are_left_to_serde() {
        let input: syn::DeriveInput = syn::parse_quote! {
            #[serde(rename_all = "Title Case", bound = "T: Clone", default)]
            #[serde(this is not meta)]
            struct S;
        };
        let container = SerdeContainer::from_attrs(&input.attrs);
        assert_eq!(container.rename_all, None);
        assert!(container.default);
    }
}
