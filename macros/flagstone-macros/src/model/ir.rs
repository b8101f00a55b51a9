//! The checked model: the struct's fields with their roles, types and marks, and its
//! indexes; every cross-field rule is checked here, and every error collected.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{
    Attribute, Data, DeriveInput, Expr, Fields, GenericArgument, Ident, PathArguments, Type,
    Visibility, ext::IdentExt, spanned::Spanned,
};

use super::parse::{FieldAttrs, IndexAttr, IndexKey, ModelAttrs};
use crate::rules::{Errors, RuleKind, Rules};

/// A model, checked.
pub(crate) struct Model {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    /// The struct's `#[doc]` text, joined.
    pub(crate) doc: Option<String>,
    pub(crate) collection: String,
    pub(crate) timestamps: bool,
    pub(crate) fields: Vec<Field>,
    pub(crate) indexes: Vec<Index>,
}

/// What a field is to the framework.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    /// `id`, stored as `_id`.
    Id,
    /// `created_at` of a model with timestamps.
    CreatedAt,
    /// `updated_at` of a model with timestamps.
    UpdatedAt,
    /// The `owner` field, set from the caller.
    Owner,
    /// Anything else.
    Plain,
}

/// Who sees and writes a field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Access {
    Normal,
    Hidden,
    ReadOnly,
    WriteOnly,
}

/// The stored type of a value (an array's element).
#[derive(Clone)]
pub(crate) enum Scalar {
    String,
    Int,
    Float,
    Bool,
    DateTime,
    /// `Id<T>`; `reference` when `T` is not the model itself.
    Id {
        target: Box<Type>,
        itself: bool,
    },
    /// Anything else: a nested document, a map, a JSON value.
    Object,
}

/// One field, checked.
pub(crate) struct Field {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) ty: Type,
    /// The doc attributes, copied onto the generated types' fields.
    pub(crate) docs: Vec<Attribute>,
    pub(crate) doc: Option<String>,
    /// The name in documents and JSON (`_id` for the id).
    pub(crate) stored: String,
    /// The name in JSON bodies (`id` for the id).
    pub(crate) json: String,
    pub(crate) role: Role,
    pub(crate) access: Access,
    /// `Option<..>`
    pub(crate) optional: bool,
    /// `Vec<..>` (inside the `Option`, if any)
    pub(crate) array: bool,
    /// The element type: without `Option` and `Vec`.
    pub(crate) elem: Type,
    pub(crate) scalar: Scalar,
    pub(crate) filter: bool,
    pub(crate) sort: bool,
    pub(crate) select: bool,
    pub(crate) unique: bool,
    pub(crate) default: Option<Expr>,
    /// The validation rules but `required`, as written (for `#[validate(...)]` on the
    /// bodies).
    pub(crate) rules: Vec<TokenStream>,
    /// Whether `required` is among them.
    pub(crate) required_rule: bool,
}

impl Field {
    /// In POST/PUT/PATCH bodies.
    pub(crate) fn writable(&self) -> bool {
        self.role == Role::Plain && matches!(self.access, Access::Normal | Access::WriteOnly)
    }

    /// In responses.
    pub(crate) fn visible(&self) -> bool {
        matches!(self.access, Access::Normal | Access::ReadOnly)
    }
}

/// One index.
pub(crate) struct Index {
    /// `(stored name, key)`
    pub(crate) keys: Vec<(String, IndexKey)>,
    pub(crate) unique: bool,
    pub(crate) sparse: bool,
    pub(crate) ttl: Option<u64>,
    pub(crate) name: Option<String>,
}

impl Model {
    pub(crate) fn from_input(input: &DeriveInput) -> syn::Result<Self> {
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(&named.named),
                _ => None,
            },
            _ => None,
        };
        let Some(named) = named else {
            let ident = &input.ident;
            return Err(syn::Error::new_spanned(
                ident,
                format!(
                    "Model can be derived for structs with named fields only: write `struct {ident} {{ id: Id<Self>, .. }}`"
                ),
            ));
        };
        if !input.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &input.generics,
                "a model cannot be generic: it is one collection with one schema",
            ));
        }
        let mut errors = Errors::default();
        let attrs = ModelAttrs::from_attrs(&input.attrs);
        let indexes = IndexAttr::from_attrs(&input.attrs);
        let (attrs, index_attrs) = match (attrs, indexes) {
            (Ok(a), Ok(i)) => (a, i),
            (a, i) => {
                errors.push(a.err());
                errors.push(i.err());
                (ModelAttrs::default(), Vec::new())
            }
        };
        let ident = input.ident.clone();
        let timestamps = attrs.timestamps.is_some();
        let mut fields = Vec::new();
        for field in named {
            match Field::check(field, &ident, timestamps) {
                Ok(f) => fields.push(f),
                Err(error) => errors.push(Some(error)),
            }
        }

        // The id.
        match named
            .iter()
            .find(|f| f.ident.as_ref().is_some_and(|i| i == "id"))
        {
            None => errors.push(Some(syn::Error::new_spanned(
                &ident,
                format!("a model needs an id field, stored as `_id`: add `pub id: Id<{ident}>,`"),
            ))),
            Some(field) => {
                let is_self = id_target(&field.ty).is_some_and(|t| is_itself(t, &ident));
                if !is_self {
                    errors.push(Some(syn::Error::new_spanned(
                        &field.ty,
                        format!("the id of a model is an `Id<Self>` (or `Id<{ident}>`)"),
                    )));
                }
            }
        }
        // The timestamps.
        if let Some(key) = &attrs.timestamps {
            for name in ["created_at", "updated_at"] {
                let found = named
                    .iter()
                    .find(|f| f.ident.as_ref().is_some_and(|i| i == name));
                match found {
                    None => errors.push(Some(syn::Error::new_spanned(
                        key,
                        format!(
                            "`timestamps` needs the field `{name}`; help: add `pub {name}: Timestamp,` (or remove `timestamps`)"
                        ),
                    ))),
                    Some(field) if last_ident(&field.ty).is_none_or(|i| i != "Timestamp") => {
                        errors.push(Some(syn::Error::new_spanned(
                            &field.ty,
                            format!("with `timestamps`, `{name}` is a `Timestamp` set by the server"),
                        )));
                    }
                    Some(_) => {}
                }
            }
        }
        // One owner.
        let mut owners = fields.iter().filter(|f| f.role == Role::Owner);
        if owners.next().is_some() {
            for extra in owners {
                errors.push(Some(syn::Error::new_spanned(
                    &extra.ident,
                    "a model has one `owner` field; this is the second",
                )));
            }
        }

        let indexes = check_indexes(&index_attrs, &fields, &mut errors);
        errors.finish()?;
        let collection = attrs
            .collection
            .map_or_else(|| default_collection(&ident.to_string()), |c| c.value());
        Ok(Self {
            vis: input.vis.clone(),
            doc: doc_text(&input.attrs),
            ident,
            collection,
            timestamps,
            fields,
            indexes,
        })
    }

    /// The owner field, if any.
    pub(crate) fn owner(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.role == Role::Owner)
    }
}

fn check_indexes(attrs: &[IndexAttr], fields: &[Field], errors: &mut Errors) -> Vec<Index> {
    let mut out: Vec<Index> = Vec::new();
    for attr in attrs {
        let mut keys = Vec::new();
        let mut ok = true;
        for (ident, key) in &attr.keys {
            match fields
                .iter()
                .find(|f| f.ident.unraw() == ident.unraw() || *ident == f.stored)
            {
                Some(field) => {
                    if *key == IndexKey::Text && !matches!(field.scalar, Scalar::String) {
                        errors.push(Some(syn::Error::new_spanned(
                            ident,
                            "a text index covers String fields (or Vec<String>)",
                        )));
                        ok = false;
                    }
                    keys.push((field.stored.clone(), *key));
                }
                None => {
                    let names: Vec<String> = fields.iter().map(|f| f.ident.to_string()).collect();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    errors.push(Some(syn::Error::new_spanned(
                        ident,
                        format!(
                            "no field `{ident}` to index{}; the fields are: {}",
                            super::parse::did_you_mean(&ident.to_string(), &names),
                            names.join(", ")
                        ),
                    )));
                    ok = false;
                }
            }
        }
        if let Some((_, span)) = attr.ttl
            && (keys.len() != 1 || keys.iter().any(|(_, k)| *k == IndexKey::Text))
        {
            errors.push(Some(syn::Error::new(
                span,
                "a TTL index has exactly one key, a date field: #[index(fields(expires_at = 1), ttl = \"30d\")]",
            )));
            ok = false;
        }
        if ok && out.iter().any(|other| other.keys == keys) {
            errors.push(Some(syn::Error::new_spanned(
                &attr.tokens,
                "duplicate index: another #[index] has the same keys in the same order",
            )));
            ok = false;
        }
        if ok {
            out.push(Index {
                keys,
                unique: attr.unique,
                sparse: attr.sparse,
                ttl: attr.ttl.map(|(secs, _)| secs),
                name: attr.name.clone(),
            });
        }
    }
    out
}

impl Field {
    fn check(field: &syn::Field, model: &Ident, timestamps: bool) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let ident = field
            .ident
            .clone()
            .ok_or_else(|| syn::Error::new_spanned(field, "expected a named field"))?;
        if let Some(attr) = field.attrs.iter().find(|a| a.path().is_ident("serde")) {
            errors.push(Some(syn::Error::new_spanned(
                attr,
                "a model writes its own serde impls; #[serde(...)] has no effect here (use #[field(...)])",
            )));
        }
        let attrs = FieldAttrs::from_attrs(&field.attrs)?;
        let name = ident.unraw().to_string();
        let role = match name.as_str() {
            "id" => Role::Id,
            "created_at" if timestamps => Role::CreatedAt,
            "updated_at" if timestamps => Role::UpdatedAt,
            _ if attrs.owner.is_some() => Role::Owner,
            _ => Role::Plain,
        };

        // The type, with `Self` spelled out (the generated types are other structs).
        let ty = replace_self(&field.ty, model);
        let (optional, rest) = match crate::types::option_inner(&ty) {
            Some(inner) => (true, inner.clone()),
            None => (false, ty.clone()),
        };
        let (array, elem) = match vec_inner(&rest) {
            Some(inner) => (true, inner.clone()),
            None => (false, rest),
        };
        let scalar = scalar(&elem, model);

        // Visibility.
        let mut access = Access::Normal;
        if let Some(first) = attrs.visibility.first() {
            access = match first.to_string().as_str() {
                "hidden" => Access::Hidden,
                "read_only" => Access::ReadOnly,
                _ => Access::WriteOnly,
            };
            for other in &attrs.visibility[1..] {
                errors.push(Some(syn::Error::new_spanned(
                    other,
                    format!(
                        "`{other}` conflicts with `{first}`: a field is one of hidden, read_only or write_only"
                    ),
                )));
            }
        }
        if role != Role::Plain && role != Role::Owner {
            // Server-set fields: only list marks make sense.
            let extra = attrs
                .visibility
                .first()
                .map(Spanned::span)
                .or(attrs.unique.as_ref().map(Spanned::span))
                .or(attrs.default.as_ref().map(Spanned::span))
                .or(attrs.rules.iter().next().map(|r| r.span));
            if let Some(span) = extra {
                errors.push(Some(syn::Error::new(
                    span,
                    format!(
                        "`{name}` is set by the server; it takes only `filter`, `sort` and `select`"
                    ),
                )));
            }
            access = Access::ReadOnly;
        }
        if let Some(owner) = &attrs.owner {
            let plain_id = !optional && !array && matches!(scalar, Scalar::Id { .. });
            if role != Role::Owner || !plain_id {
                errors.push(Some(syn::Error::new_spanned(
                    owner,
                    "`owner` marks an `Id<User>` field (not an Option or a Vec): the id of the caller who created the document",
                )));
            }
            if access == Access::Normal {
                access = Access::ReadOnly;
            }
            if access == Access::WriteOnly {
                errors.push(Some(syn::Error::new_spanned(
                    owner,
                    "the owner is set from the caller, never from input: it cannot be write_only",
                )));
            }
        }
        // Rules run on input only.
        if let Some(rule) = attrs.rules.iter().next()
            && role == Role::Plain
            && matches!(access, Access::Hidden | Access::ReadOnly)
        {
            errors.push(Some(syn::Error::new_spanned(
                &rule.tokens,
                "this field is never accepted as input, so its validation rules would never run",
            )));
        }
        // List marks.
        for (mark, what) in [
            (&attrs.filter, "filter"),
            (&attrs.sort, "sort"),
            (&attrs.select, "select"),
        ] {
            let Some(mark) = mark else { continue };
            if matches!(scalar, Scalar::Object) {
                errors.push(Some(syn::Error::new_spanned(
                    mark,
                    format!(
                        "`{what}` applies to strings, numbers, booleans, timestamps and ids (or a Vec of them); `{}` is stored as an embedded document",
                        elem.to_token_stream()
                    ),
                )));
            } else if matches!(access, Access::Hidden | Access::WriteOnly) {
                errors.push(Some(syn::Error::new_spanned(
                    mark,
                    format!("`{what}` on a field that responses never show would reveal it"),
                )));
            }
        }
        if let Some(default) = &attrs.default {
            if optional {
                errors.push(Some(syn::Error::new_spanned(
                    default,
                    "an Option field defaults to None; `default = ..` is for non-Option fields",
                )));
            } else if role == Role::Owner {
                errors.push(Some(syn::Error::new_spanned(
                    default,
                    "the owner is the caller; it takes no default",
                )));
            }
        }
        errors.finish()?;

        let required_rule = attrs
            .rules
            .find(|k| matches!(k, RuleKind::Required))
            .is_some();
        let rules = collect_rules(&attrs.rules);
        let docs: Vec<Attribute> = field
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .cloned()
            .collect();
        let stored = match role {
            Role::Id => "_id".to_owned(),
            _ => name.clone(),
        };
        Ok(Self {
            doc: doc_text(&field.attrs),
            docs,
            vis: field.vis.clone(),
            ident,
            ty,
            stored,
            json: name,
            role,
            access,
            optional,
            array,
            elem,
            scalar,
            filter: attrs.filter.is_some(),
            sort: attrs.sort.is_some(),
            select: attrs.select.is_some(),
            unique: attrs.unique.is_some(),
            default: attrs.default,
            rules,
            required_rule,
        })
    }
}

/// `ty` with every `Self` replaced by the model's name.
fn replace_self(ty: &Type, model: &Ident) -> Type {
    fn walk(tokens: TokenStream, model: &Ident) -> TokenStream {
        tokens
            .into_iter()
            .map(|tree| match tree {
                proc_macro2::TokenTree::Ident(ident) if ident == "Self" => {
                    proc_macro2::TokenTree::Ident(Ident::new(&model.to_string(), ident.span()))
                }
                proc_macro2::TokenTree::Group(group) => {
                    let mut new =
                        proc_macro2::Group::new(group.delimiter(), walk(group.stream(), model));
                    new.set_span(group.span());
                    proc_macro2::TokenTree::Group(new)
                }
                other => other,
            })
            .collect()
    }
    syn::parse2(walk(ty.to_token_stream(), model)).unwrap_or_else(|_| ty.clone())
}

fn collect_rules(rules: &Rules) -> Vec<TokenStream> {
    rules
        .iter()
        .filter(|rule| !matches!(rule.kind, RuleKind::Required))
        .map(|rule| rule.tokens.clone())
        .collect()
}

/// The doc comment of `attrs`, lines joined, trimmed; `None` when there is none.
pub(crate) fn doc_text(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_owned())
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// `Post` → `posts`, `Category` → `categories`, `Box` → `boxes`, `BlogPost` → `blog_posts`.
pub(crate) fn default_collection(name: &str) -> String {
    let mut snake = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.extend(c.to_lowercase());
        } else {
            snake.push(c);
        }
    }
    let vowel_before_y = snake.len() >= 2
        && matches!(
            snake.as_bytes()[snake.len() - 2],
            b'a' | b'e' | b'i' | b'o' | b'u'
        );
    if snake.ends_with('y') && !vowel_before_y {
        snake.pop();
        snake.push_str("ies");
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|end| snake.ends_with(end))
    {
        snake.push_str("es");
    } else {
        snake.push('s');
    }
    snake
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        Type::Group(group) => last_segment(&group.elem),
        Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

fn last_ident(ty: &Type) -> Option<&Ident> {
    last_segment(ty).map(|s| &s.ident)
}

fn single_arg(segment: &syn::PathSegment) -> Option<&Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match args.args.first() {
            Some(GenericArgument::Type(ty)) => Some(ty),
            _ => None,
        },
        _ => None,
    }
}

fn vec_inner(ty: &Type) -> Option<&Type> {
    let segment = last_segment(ty)?;
    (segment.ident == "Vec")
        .then(|| single_arg(segment))
        .flatten()
}

/// The `T` of `Id<T>`.
pub(crate) fn id_target(ty: &Type) -> Option<&Type> {
    let segment = last_segment(ty)?;
    (segment.ident == "Id")
        .then(|| single_arg(segment))
        .flatten()
}

fn is_itself(ty: &Type, model: &Ident) -> bool {
    last_segment(ty)
        .is_some_and(|s| (s.ident == "Self" || s.ident == *model) && s.arguments.is_none())
}

fn scalar(ty: &Type, model: &Ident) -> Scalar {
    if let Type::Reference(reference) = ty
        && last_ident(&reference.elem).is_some_and(|i| i == "str")
    {
        return Scalar::String;
    }
    let Some(segment) = last_segment(ty) else {
        return Scalar::Object;
    };
    let name = segment.ident.to_string();
    match name.as_str() {
        "String" => Scalar::String,
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "isize" => Scalar::Int,
        "f32" | "f64" => Scalar::Float,
        "bool" => Scalar::Bool,
        "Timestamp" => Scalar::DateTime,
        "Id" => match single_arg(segment) {
            Some(target) => Scalar::Id {
                itself: is_itself(target, model),
                target: Box::new(target.clone()),
            },
            None => Scalar::Object,
        },
        _ => Scalar::Object,
    }
}

/// Whether a schema for `ty` is written inline (scalars, ids, timestamps, generic and
/// well-known containers) rather than as a `$ref` to its own component.
pub(crate) fn schema_inline(scalar: &Scalar, elem: &Type) -> bool {
    if !matches!(scalar, Scalar::Object) {
        return true;
    }
    match last_segment(elem) {
        Some(segment) => {
            !segment.arguments.is_none()
                || matches!(
                    segment.ident.to_string().as_str(),
                    "Value" | "u64" | "usize" | "char" | "Document"
                )
        }
        None => true,
    }
}

/// The `FieldType` expression of a scalar.
pub(crate) fn field_type(scalar: &Scalar) -> TokenStream {
    let variant = match scalar {
        Scalar::String => quote!(String),
        Scalar::Int => quote!(Int),
        Scalar::Float => quote!(Float),
        Scalar::Bool => quote!(Bool),
        Scalar::DateTime => quote!(DateTime),
        Scalar::Id { .. } => quote!(Id),
        Scalar::Object => quote!(Object),
    };
    quote!(::flagstone::model::FieldType::#variant)
}

/// The `FieldKind` of a listable scalar.
pub(crate) fn field_kind(scalar: &Scalar) -> Option<TokenStream> {
    let variant = match scalar {
        Scalar::String => quote!(String),
        Scalar::Int => quote!(Integer),
        Scalar::Float => quote!(Number),
        Scalar::Bool => quote!(Boolean),
        Scalar::DateTime => quote!(DateTime),
        Scalar::Id { .. } => quote!(Id),
        Scalar::Object => return None,
    };
    Some(quote!(::flagstone::query::FieldKind::#variant))
}

/// A span for generated items that refer to the whole field.
pub(crate) fn span_of(field: &Field) -> Span {
    field.ty.span()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_are_plural_snake_case() {
        for (name, expected) in [
            ("Post", "posts"),
            ("Category", "categories"),
            ("Box", "boxes"),
            ("Person", "persons"),
            ("BlogPost", "blog_posts"),
            ("Day", "days"),
            ("Match", "matches"),
        ] {
            assert_eq!(default_collection(name), expected);
        }
    }
}
