//! `#[derive(Resource)]`: the path, the tag, the hooks and an access rule for every
//! operation, secure by default (an operation without a rule does not compile).

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{
    Data, DeriveInput, Expr, ExprCall, ExprLit, ExprPath, Fields, Lit, LitStr, Meta, Path,
    spanned::Spanned,
};

use crate::{
    model::{ir::default_collection, parse::did_you_mean},
    rules::{Errors, attr_metas},
};

const OPERATIONS: &[&str] = &["list", "get", "create", "update", "delete"];
const KEYS: &[&str] = &[
    "path", "tag", "hooks", "list", "get", "create", "update", "delete", "default",
];
const RULES: &str = "public, authenticated, role(\"x\"), owner, owner_or(\"x\") or disabled";

/// An access rule, checked.
#[derive(Clone)]
enum Rule {
    Public,
    Authenticated,
    Role(LitStr),
    Owner(Span),
    OwnerOr(LitStr, Span),
    Disabled,
}

#[derive(Default)]
struct Attrs {
    path: Option<LitStr>,
    tag: Option<LitStr>,
    hooks: Option<Path>,
    rules: [Option<Rule>; 5],
    default: Option<Rule>,
    /// The first `#[resource]`, for errors about what it lacks.
    attr: Option<TokenStream>,
    /// Whether a key was malformed (then missing rules are not reported again).
    broken: bool,
}

/// The impl for `input`, or every error found in it.
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let attrs = parse(input, &mut errors);
    let ident = &input.ident;
    if !matches!(&input.data, Data::Struct(data) if matches!(data.fields, Fields::Named(_))) {
        errors.push(Some(syn::Error::new_spanned(
            ident,
            "Resource is derived for a model: a struct with named fields that also derives Model",
        )));
    }
    let attr = attrs.attr.clone().unwrap_or_else(|| quote!(#ident));
    if attrs.attr.is_none() {
        errors.push(Some(syn::Error::new_spanned(
            &attr,
            "a resource needs #[resource(path = \"/posts\", list = .., get = .., create = .., update = .., delete = ..)] (or `default = ..` for the operations not named)",
        )));
    }
    let has_owner = has_owner_field(input);
    let mut arms = Vec::new();
    for (i, op) in OPERATIONS.iter().enumerate() {
        let rule = attrs.rules[i].clone().or_else(|| attrs.default.clone());
        let Some(rule) = rule else {
            if attrs.attr.is_some() && !attrs.broken {
                errors.push(Some(syn::Error::new_spanned(
                    &attr,
                    format!(
                        "no access rule for `{op}`: every operation states who may use it; help: write `{op} = public` (or authenticated, role(\"x\"), owner, owner_or(\"x\"), disabled), or `default = ...`"
                    ),
                )));
            }
            continue;
        };
        if let (Rule::Owner(span) | Rule::OwnerOr(_, span), false) = (&rule, has_owner) {
            errors.push(Some(syn::Error::new(
                *span,
                format!(
                    "`owner` rules compare the caller with the document's owner, and `{ident}` has no owner field; help: mark an `Id<User>` field #[field(owner)], or use `authenticated` or `role(\"x\")`"
                ),
            )));
        }
        let variant = match *op {
            "list" => quote!(List),
            "get" => quote!(Get),
            "create" => quote!(Create),
            "update" => quote!(Update),
            _ => quote!(Delete),
        };
        let access = quote!(::flagstone::auth::Access);
        let value = match rule {
            Rule::Public => quote!(::core::option::Option::Some(#access::public())),
            Rule::Authenticated => quote!(::core::option::Option::Some(#access::authenticated())),
            Rule::Role(role) => quote!(::core::option::Option::Some(#access::role(#role))),
            Rule::Owner(_) => quote!(::core::option::Option::Some(#access::owner())),
            Rule::OwnerOr(role, _) => {
                quote!(::core::option::Option::Some(#access::owner_or(#role)))
            }
            Rule::Disabled => quote!(::core::option::Option::None),
        };
        arms.push(quote!(::flagstone::resource::Operation::#variant => #value,));
    }
    let path = match &attrs.path {
        Some(path) => {
            let value = path.value();
            if !value.starts_with('/')
                || value.len() < 2
                || value.ends_with('/')
                || value.contains(['{', '}', '?', '#', ' '])
            {
                errors.push(Some(syn::Error::new_spanned(
                    path,
                    "the path starts with `/`, does not end with one and has no parameters: path = \"/posts\"",
                )));
            }
            value
        }
        None => format!(
            "/{}",
            collection(input).unwrap_or_else(|| default_collection(&ident.to_string()))
        ),
    };
    errors.finish()?;
    let tag = attrs
        .tag
        .map_or_else(|| path.trim_start_matches('/').to_owned(), |t| t.value());
    let hooks = match &attrs.hooks {
        Some(path) => quote!(#path),
        None => quote!(()),
    };
    Ok(quote! {
        #[automatically_derived]
        impl ::flagstone::resource::Resource for #ident {
            const PATH: &'static str = #path;
            const TAG: &'static str = #tag;
            type Hooks = #hooks;

            fn access(
                operation: ::flagstone::resource::Operation,
            ) -> ::core::option::Option<::flagstone::auth::Access> {
                match operation {
                    #(#arms)*
                }
            }
        }
    })
}

fn parse(input: &DeriveInput, errors: &mut Errors) -> Attrs {
    let mut attrs = Attrs::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("resource")) {
        attrs.attr.get_or_insert_with(|| quote!(#attr));
        let metas = match attr_metas(attr) {
            Ok(metas) => metas,
            Err(error) => {
                errors.push(Some(error));
                continue;
            }
        };
        for meta in metas {
            let result = key(&mut attrs, &meta);
            attrs.broken |= result.is_err();
            errors.push(result.err());
        }
    }
    attrs
}

fn key(attrs: &mut Attrs, meta: &Meta) -> syn::Result<()> {
    let name = meta
        .path()
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    let Meta::NameValue(nv) = meta else {
        if KEYS.contains(&name.as_str()) {
            return Err(syn::Error::new_spanned(
                meta,
                format!("write `{name} = ...`"),
            ));
        }
        return Err(unknown(meta, &name));
    };
    let duplicate = || syn::Error::new_spanned(meta, format!("duplicate `{name}`"));
    match name.as_str() {
        "path" | "tag" => {
            let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            else {
                return Err(syn::Error::new_spanned(
                    &nv.value,
                    format!("{name} is a string: {name} = \"/posts\""),
                ));
            };
            let slot = if name == "path" {
                &mut attrs.path
            } else {
                &mut attrs.tag
            };
            if slot.replace(s.clone()).is_some() {
                return Err(duplicate());
            }
        }
        "hooks" => {
            let Expr::Path(ExprPath { path, .. }) = &nv.value else {
                return Err(syn::Error::new_spanned(
                    &nv.value,
                    "hooks is a type: hooks = PostHooks",
                ));
            };
            if attrs.hooks.replace(path.clone()).is_some() {
                return Err(duplicate());
            }
        }
        "default" => {
            let rule = rule(&nv.value)?;
            if attrs.default.replace(rule).is_some() {
                return Err(duplicate());
            }
        }
        op => match OPERATIONS.iter().position(|o| *o == op) {
            Some(i) => {
                let rule = rule(&nv.value)?;
                if attrs.rules[i].replace(rule).is_some() {
                    return Err(duplicate());
                }
            }
            None => return Err(unknown(meta, &name)),
        },
    }
    Ok(())
}

fn unknown(meta: &Meta, name: &str) -> syn::Error {
    syn::Error::new_spanned(
        meta.path(),
        format!(
            "unknown key `{name}` in #[resource(...)]{}; expected one of: {}",
            did_you_mean(name, KEYS),
            KEYS.join(", ")
        ),
    )
}

fn rule(expr: &Expr) -> syn::Result<Rule> {
    let unknown = |what: &dyn quote::ToTokens| {
        syn::Error::new_spanned(what, format!("unknown access rule; expected {RULES}"))
    };
    match expr {
        Expr::Path(ExprPath { path, .. }) => {
            let name = path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match name.as_str() {
                "public" => Ok(Rule::Public),
                "authenticated" => Ok(Rule::Authenticated),
                "owner" => Ok(Rule::Owner(path.span())),
                "disabled" => Ok(Rule::Disabled),
                "role" | "owner_or" => Err(syn::Error::new_spanned(
                    path,
                    format!("write {name}(\"admin\")"),
                )),
                _ => Err(syn::Error::new_spanned(
                    path,
                    format!(
                        "unknown access rule `{name}`{}; expected {RULES}",
                        did_you_mean(
                            &name,
                            &[
                                "public",
                                "authenticated",
                                "owner",
                                "disabled",
                                "role",
                                "owner_or"
                            ]
                        )
                    ),
                )),
            }
        }
        Expr::Call(ExprCall { func, args, .. }) => {
            let Expr::Path(ExprPath { path, .. }) = &**func else {
                return Err(unknown(expr));
            };
            let name = path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let role = match (args.len(), args.first()) {
                (
                    1,
                    Some(Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    })),
                ) if !s.value().is_empty() => s.clone(),
                _ => {
                    return Err(syn::Error::new_spanned(
                        args,
                        format!("{name} takes one role name: {name}(\"admin\")"),
                    ));
                }
            };
            match name.as_str() {
                "role" => Ok(Rule::Role(role)),
                "owner_or" => Ok(Rule::OwnerOr(role, path.span())),
                _ => Err(unknown(expr)),
            }
        }
        _ => Err(unknown(expr)),
    }
}

/// Whether a field says `#[field(.., owner, ..)]` (the Model derive checks the rest).
fn has_owner_field(input: &DeriveInput) -> bool {
    let Data::Struct(data) = &input.data else {
        return false;
    };
    data.fields.iter().any(|field| {
        field
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("field"))
            .filter_map(|a| attr_metas(a).ok())
            .flatten()
            .any(|meta| meta.path().is_ident("owner"))
    })
}

/// `collection = ".."` of `#[model(...)]`, if given.
fn collection(input: &DeriveInput) -> Option<String> {
    input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("model"))
        .filter_map(|a| attr_metas(a).ok())
        .flatten()
        .find_map(|meta| match meta {
            Meta::NameValue(nv) if nv.path.is_ident("collection") => match nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
}
