//! The input and output types of a model: `{Name}Create`, `{Name}Patch` and
//! `{Name}View`, their `Validate` impls (through the `Validate` derive's own code) and
//! their OpenAPI schemas (written by hand, so the user's crate needs no `utoipa`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{DeriveInput, Ident, Type};

use super::ir::{Field, Model, schema_inline};
use crate::rules::Errors;

/// One field of a generated type.
struct DtoField<'a> {
    field: &'a Field,
    ty: Type,
    /// `#[serde(default)]`
    default: bool,
    /// The rules to check (with `required` when the body keeps it).
    rules: Vec<TokenStream>,
    /// Required in the schema.
    required: bool,
    /// Nullable in the schema.
    nullable: bool,
    /// An `Option` that only a value fills: `null` is refused (PATCH of a field that
    /// cannot be cleared).
    refuse_null: bool,
}

/// The names of the generated types.
pub(crate) fn names(model: &Model) -> (Ident, Ident, Ident) {
    let ident = &model.ident;
    (
        format_ident!("{}Create", ident),
        format_ident!("{}Patch", ident),
        format_ident!("{}View", ident),
    )
}

/// The three types, with their impls.
pub(crate) fn expand(model: &Model) -> syn::Result<TokenStream> {
    let (create, patch, view) = names(model);
    let ident = &model.ident;
    let mut errors = Errors::default();

    let create_fields: Vec<DtoField> = model
        .fields
        .iter()
        .filter(|f| f.writable())
        .map(|f| {
            let mut rules = f.rules.clone();
            if f.required_rule {
                rules.insert(0, quote!(required));
            }
            let ty = &f.ty;
            match (&f.default, f.optional) {
                (Some(_), _) => DtoField {
                    field: f,
                    ty: syn::parse_quote!(::core::option::Option<#ty>),
                    default: true,
                    rules,
                    required: false,
                    nullable: false,
                    // Absent takes the default; `null` is not a value of the field.
                    refuse_null: true,
                },
                (None, true) => DtoField {
                    field: f,
                    ty: ty.clone(),
                    default: true,
                    rules,
                    required: f.required_rule,
                    nullable: !f.required_rule,
                    refuse_null: false,
                },
                (None, false) => DtoField {
                    field: f,
                    ty: ty.clone(),
                    default: false,
                    rules,
                    required: true,
                    nullable: false,
                    refuse_null: false,
                },
            }
        })
        .collect();
    let patch_fields: Vec<DtoField> = model
        .fields
        .iter()
        .filter(|f| f.writable())
        .map(|f| {
            let ty = &f.ty;
            let inner = crate::types::option_inner(ty).unwrap_or(ty);
            let (ty, nullable) = match (f.optional, f.required_rule) {
                // Absent leaves a required field alone; `null` is refused, since it
                // cannot be cleared.
                (true, true) => (ty.clone(), false),
                (true, false) => (
                    syn::parse_quote!(::flagstone::__private::Patch<#inner>),
                    true,
                ),
                (false, _) => (syn::parse_quote!(::core::option::Option<#ty>), false),
            };
            DtoField {
                field: f,
                ty,
                default: true,
                rules: f.rules.clone(),
                required: false,
                nullable,
                refuse_null: !nullable,
            }
        })
        .collect();

    let create_doc = format!(
        "The body of `POST` and `PUT` for [`{ident}`]: its writable fields, checked by their rules; unknown fields are refused."
    );
    let patch_doc = format!(
        "The body of `PATCH` for [`{ident}`]: every writable field, optional; a missing field is left unchanged{}.",
        match patch_fields.iter().any(|f| f.nullable) {
            true => ", and `null` clears an optional one",
            false => "",
        }
    );
    let view_doc = format!(
        "[`{ident}`] as responses show it: every field but the hidden and write-only ones."
    );

    let mut out = TokenStream::new();
    for (name, doc, fields) in [
        (&create, &create_doc, &create_fields),
        (&patch, &patch_doc, &patch_fields),
    ] {
        out.extend(input_type(model, name, doc, fields));
        match validate_impl(name, fields) {
            Ok(tokens) => out.extend(tokens),
            Err(error) => errors.push(Some(error)),
        }
        out.extend(schema_impl(model, name, fields, true));
    }

    let view_fields: Vec<DtoField> = model
        .fields
        .iter()
        .filter(|f| f.visible())
        .map(|f| DtoField {
            field: f,
            ty: f.ty.clone(),
            default: false,
            rules: Vec::new(),
            required: true,
            nullable: f.optional,
            refuse_null: false,
        })
        .collect();
    out.extend(view_type(model, &view, &view_doc, &view_fields));
    out.extend(schema_impl(model, &view, &view_fields, false));
    errors.finish()?;
    Ok(out)
}

/// A field's docs, or a line naming it (every public item has docs).
fn docs(field: &Field) -> TokenStream {
    match field.docs.is_empty() {
        false => {
            let docs = &field.docs;
            quote!(#(#docs)*)
        }
        true => {
            let line = format!("The `{}` field.", field.json);
            quote!(#[doc = #line])
        }
    }
}

fn input_type(model: &Model, name: &Ident, doc: &str, fields: &[DtoField]) -> TokenStream {
    let vis = &model.vis;
    let items = fields.iter().map(|f| {
        let docs = docs(f.field);
        let (vis, ident, ty, json) = (&f.field.vis, &f.field.ident, &f.ty, &f.field.json);
        let default = f.default.then(|| quote!(#[serde(default)]));
        let refuse_null = f
            .refuse_null
            .then(|| quote!(#[serde(deserialize_with = "::flagstone::__private::present")]));
        quote! {
            #docs
            #[serde(rename = #json)]
            #default
            #refuse_null
            #vis #ident: #ty,
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(::flagstone::__private::serde::Deserialize)]
        #[serde(crate = "::flagstone::__private::serde", deny_unknown_fields)]
        #vis struct #name {
            #(#items)*
        }
    }
}

fn view_type(model: &Model, name: &Ident, doc: &str, fields: &[DtoField]) -> TokenStream {
    let vis = &model.vis;
    let items = fields.iter().map(|f| {
        let docs = docs(f.field);
        let (vis, ident, ty, json) = (&f.field.vis, &f.field.ident, &f.ty, &f.field.json);
        quote! {
            #docs
            #[serde(rename = #json)]
            #vis #ident: #ty,
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::flagstone::__private::serde::Serialize)]
        #[serde(crate = "::flagstone::__private::serde")]
        #vis struct #name {
            #(#items)*
        }
    }
}

/// The `Validate` impl of a body, from the `Validate` derive's own expansion of the
/// same fields with their rules.
fn validate_impl(name: &Ident, fields: &[DtoField]) -> syn::Result<TokenStream> {
    let items = fields.iter().map(|f| {
        let (ident, ty, json) = (&f.field.ident, &f.ty, &f.field.json);
        let rules = &f.rules;
        let validate = (!rules.is_empty()).then(|| quote!(#[validate(#(#rules),*)]));
        let default = f.default.then(|| quote!(#[serde(default)]));
        quote! {
            #validate
            #[serde(rename = #json)]
            #default
            #ident: #ty,
        }
    });
    let input: DeriveInput = syn::parse_quote! {
        struct #name {
            #(#items)*
        }
    };
    crate::validate::expand(&input)
}

/// `PartialSchema` and `ToSchema` for a generated type, behind `if_openapi!`.
fn schema_impl(model: &Model, name: &Ident, fields: &[DtoField], closed: bool) -> TokenStream {
    let schema = quote!(::flagstone::__private::schema);
    let utoipa = quote!(::flagstone::__private::utoipa);
    let mut seen = std::collections::HashSet::new();
    let mut refs = Vec::new();
    let properties = fields
        .iter()
        .map(|f| {
            let field = f.field;
            let elem = &field.elem;
            let mut value = match schema_inline(&field.scalar, elem) {
                true => quote!(#schema::inline::<#elem>()),
                false => {
                    if seen.insert(quote!(#elem).to_string()) {
                        refs.push(quote!(#schema::collect::<#elem>(schemas);));
                    }
                    quote!(#schema::reference::<#elem>())
                }
            };
            if field.array {
                value = quote!(#schema::array(#value));
            }
            if f.nullable {
                value = quote!(#schema::nullable(#value));
            }
            let json = &field.json;
            let required = f.required;
            let description = match &field.doc {
                Some(doc) => quote!(::core::option::Option::Some(#doc)),
                None => quote!(::core::option::Option::None),
            };
            quote! {
                #schema::Property {
                    name: #json,
                    schema: #value,
                    required: #required,
                    description: #description,
                }
            }
        })
        .collect::<Vec<_>>();
    let description = match &model.doc {
        Some(doc) => quote!(::core::option::Option::Some(#doc)),
        None => quote!(::core::option::Option::None),
    };
    let name_str = name.to_string();
    let schemas_arg = match refs.is_empty() {
        true => quote!(_),
        false => quote!(schemas),
    };
    quote! {
        ::flagstone::__private::if_openapi! {
            #[automatically_derived]
            impl #utoipa::PartialSchema for #name {
                fn schema() -> #utoipa::openapi::RefOr<#utoipa::openapi::schema::Schema> {
                    #schema::object(#description, #closed, ::std::vec![#(#properties),*])
                }
            }

            #[automatically_derived]
            impl #utoipa::ToSchema for #name {
                fn name() -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed(#name_str)
                }

                fn schemas(
                    #schemas_arg: &mut ::std::vec::Vec<(
                        ::std::string::String,
                        #utoipa::openapi::RefOr<#utoipa::openapi::schema::Schema>,
                    )>,
                ) {
                    #(#refs)*
                }
            }
        }
    }
}
