//! `#[derive(Validate)]`: `validate_at` checks every rule of every field in one pass;
//! `constraints` states them for the OpenAPI schema.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{Data, DeriveInput, Fields, Ident, Type, WherePredicate};

use crate::{
    rules::{Errors, Rule, RuleKind, Rules},
    serde_attrs::{SerdeContainer, SerdeField, json_name},
    types,
};

/// The impl for `input`, or every error found in it.
pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => &named.named,
            _ => return Err(not_named(input)),
        },
        _ => return Err(not_named(input)),
    };
    let mut errors = Errors::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("validate")) {
        errors.push(Some(syn::Error::new_spanned(
            attr,
            "#[validate(...)] goes on the fields, not on the struct",
        )));
    }

    let container = SerdeContainer::from_attrs(&input.attrs);
    let mut cx = Cx {
        params: input
            .generics
            .type_params()
            .map(|p| p.ident.to_string())
            .collect(),
        itself: [input.ident.to_string()].into(),
        ..Cx::default()
    };
    let mut checks = Vec::new();
    let mut constraints = Vec::new();
    for field in fields {
        let mut rules = Rules::default();
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("validate")) {
            match Rules::from_validate_attr(attr).and_then(|more| rules.extend(more)) {
                Ok(()) => {}
                Err(error) => errors.push(Some(error)),
            }
        }
        let serde = SerdeField::from_attrs(&field.attrs);
        let name = json_name(field, &serde, &container);
        let ident = field.ident.as_ref();
        let ty = &field.ty;

        if serde.skipped {
            if let Some(rule) = rules.iter().next() {
                errors.push(Some(syn::Error::new_spanned(
                    &rule.tokens,
                    "this field is skipped by serde, so its rules would never run",
                )));
            }
            continue;
        }
        if serde.flatten {
            if let Some(rule) = rules.find(|k| !matches!(k, RuleKind::Nested)) {
                errors.push(Some(syn::Error::new_spanned(
                    &rule.tokens,
                    "a flattened field takes only `nested`: its own fields carry their rules",
                )));
                continue;
            }
            if rules.is_empty() {
                continue;
            }
            match cx.checks(&rules, ty, format_ident!("__flagstone_field")) {
                Ok(tokens) => checks.push(quote! {
                    {
                        let __flagstone_field = &self.#ident;
                        #tokens
                    }
                }),
                Err(error) => errors.push(Some(error)),
            }
            constraints.push(flattened_constraints(ty, &mut cx));
            continue;
        }

        let optional = types::option_inner(ty).is_some() || types::patch_inner(ty).is_some();
        if !rules.is_empty() {
            match cx.checks(&rules, ty, format_ident!("__flagstone_field")) {
                Ok(tokens) => checks.push(quote! {
                    {
                        let __flagstone_field = &self.#ident;
                        let __flagstone_mark = __flagstone_path.push_field(#name);
                        #tokens
                        __flagstone_path.truncate(__flagstone_mark);
                    }
                }),
                Err(error) => errors.push(Some(error)),
            }
        }
        let required = match optional {
            true => rules.find(|k| matches!(k, RuleKind::Required)).is_some(),
            false => !serde.default && !container.default,
        };
        if !rules.is_empty() || required {
            constraints.push(field_constraint(&name, &rules, ty, required));
        }
    }
    errors.finish()?;

    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut where_clause = where_clause
        .cloned()
        .unwrap_or_else(|| syn::parse_quote!(where));
    where_clause.predicates.extend(cx.bounds);
    let statics = cx.statics;
    let path_arg = match checks.is_empty() {
        true => quote!(_),
        false => quote!(__flagstone_path),
    };
    let errors_arg = match checks.is_empty() {
        true => quote!(_),
        false => quote!(__flagstone_errors),
    };
    // A concrete type registers its constraints, so the OpenAPI document states them in
    // the schema of the same name (generic types have no single schema to patch).
    let register = match input.generics.params.is_empty() {
        true => quote!(::flagstone::__private::register_constraints!(#ident);),
        false => TokenStream::new(),
    };
    Ok(quote! {
        #register

        #[automatically_derived]
        impl #impl_generics ::flagstone::validation::Validate for #ident #ty_generics #where_clause {
            fn validate_at(
                &self,
                #path_arg: &mut ::flagstone::validation::FieldPath,
                #errors_arg: &mut ::std::vec::Vec<::flagstone::FieldError>,
            ) {
                #(#statics)*
                #(#checks)*
            }

            fn constraints() -> ::std::vec::Vec<::flagstone::validation::Constraint> {
                let mut __flagstone_constraints = ::std::vec::Vec::new();
                #(#constraints)*
                __flagstone_constraints
            }
        }
    })
}

fn not_named(input: &DeriveInput) -> syn::Error {
    let ident = &input.ident;
    let keyword = match &input.data {
        Data::Struct(data) => data.struct_token.to_token_stream(),
        Data::Enum(data) => data.enum_token.to_token_stream(),
        Data::Union(data) => data.union_token.to_token_stream(),
    };
    syn::Error::new_spanned(
        quote!(#keyword #ident),
        "Validate can be derived for structs with named fields",
    )
}

/// What the generated code accumulates besides the checks themselves.
#[derive(Default)]
struct Cx {
    /// The struct's type parameters: a field type naming one needs a bound.
    params: HashSet<String>,
    /// The struct's own name: a recursive field type needs no bound (the impl being
    /// written provides it, and stating it would make the bound cyclic).
    itself: HashSet<String>,
    /// Bounds on generic field types, deduplicated.
    bounds: Vec<WherePredicate>,
    seen_bounds: HashSet<String>,
    /// The `static` regexes, compiled once.
    statics: Vec<TokenStream>,
    /// For fresh names.
    counter: usize,
}

impl Cx {
    fn fresh(&mut self, prefix: &str) -> syn::Ident {
        self.counter += 1;
        format_ident!("__flagstone_{}{}", prefix, self.counter)
    }

    /// `ty: bound` when `ty` names a type parameter (and not the struct itself).
    fn bound(&mut self, ty: &Type, bound: TokenStream) {
        if types::mentions(ty, &self.params) && !types::mentions(ty, &self.itself) {
            let predicate: WherePredicate = syn::parse_quote!(#ty: #bound);
            if self
                .seen_bounds
                .insert(predicate.to_token_stream().to_string())
            {
                self.bounds.push(predicate);
            }
        }
    }

    /// The checks of `rules` on `value`, a variable of type `&ty`. `required` checks the
    /// `Option` itself; every other rule its inner value, when there is one. Each use of
    /// the variable carries its rule's span, so a type error points at the rule.
    fn checks(&mut self, rules: &Rules, ty: &Type, value: Ident) -> syn::Result<TokenStream> {
        let mut errors = Errors::default();
        let mut out = TokenStream::new();
        let inner = types::option_inner(ty);
        let patch = types::patch_inner(ty);
        if let Some(rule) = rules.find(|k| matches!(k, RuleKind::Required)) {
            match inner {
                None if patch.is_some() => errors.push(Some(syn::Error::new_spanned(
                    &rule.tokens,
                    "required does not apply to a PATCH field: leaving it out leaves it unchanged",
                ))),
                Some(_) => {
                    let v = respan(&value, rule.span);
                    let call =
                        quote_spanned!(rule.span=> ::flagstone::validation::rules::required(#v));
                    out.extend(push_violation(call));
                }
                None => errors.push(Some(syn::Error::new_spanned(
                    &rule.tokens,
                    "required applies to Option fields; a non-Option field is always present",
                ))),
            }
        }
        let rest: Vec<&Rule> = rules
            .iter()
            .filter(|r| !matches!(r.kind, RuleKind::Required))
            .collect();
        if !rest.is_empty() {
            match inner {
                Some(inner) => {
                    let binding = self.fresh("some");
                    match self.checks_on(&rest, inner, binding.clone()) {
                        Ok(body) => out.extend(quote! {
                            if let ::core::option::Option::Some(#binding) = #value {
                                #body
                            }
                        }),
                        Err(error) => errors.push(Some(error)),
                    }
                }
                None => match patch {
                    Some(inner) => {
                        let binding = self.fresh("value");
                        match self.checks_on(&rest, inner, binding.clone()) {
                            Ok(body) => out.extend(quote! {
                                if let ::core::option::Option::Some(#binding) =
                                    ::flagstone::__private::Patch::value(#value)
                                {
                                    #body
                                }
                            }),
                            Err(error) => errors.push(Some(error)),
                        }
                    }
                    None => match self.checks_on(&rest, ty, value) {
                        Ok(body) => out.extend(body),
                        Err(error) => errors.push(Some(error)),
                    },
                },
            }
        }
        errors.finish()?;
        Ok(out)
    }

    /// The checks of `rules` (no `required`) on `value` of type `&ty`; an `Option` here is
    /// an `Option<Option<T>>` unwrapped once, unwrapped again.
    fn checks_on(&mut self, rules: &[&Rule], ty: &Type, value: Ident) -> syn::Result<TokenStream> {
        if let Some(inner) = types::option_inner(ty) {
            let binding = self.fresh("some");
            let body = self.checks_on(rules, inner, binding.clone())?;
            return Ok(quote! {
                if let ::core::option::Option::Some(#binding) = #value {
                    #body
                }
            });
        }
        let rules_path = quote!(::flagstone::validation::rules);
        let collection = types::is_collection(ty);
        let as_str = |span: Span, value: &Ident| quote_spanned!(span=> ::core::convert::AsRef::<str>::as_ref(#value));
        let mut errors = Errors::default();
        let mut out = TokenStream::new();
        for rule in rules {
            let span = rule.span;
            let value = respan(&value, span);
            let check = match &rule.kind {
                RuleKind::Required => continue,
                RuleKind::NonEmpty if collection => {
                    self.bound(ty, quote!(::flagstone::validation::rules::Length));
                    push_violation(quote_spanned!(span=> #rules_path::non_empty(#value)))
                }
                RuleKind::NonEmpty => {
                    self.bound(ty, quote!(::core::convert::AsRef<str>));
                    let s = as_str(span, &value);
                    push_violation(quote_spanned!(span=> #rules_path::non_empty_str(#s)))
                }
                RuleKind::Len { min, max } => {
                    self.bound(ty, quote!(::flagstone::validation::rules::Length));
                    let min = option(min.map(integer));
                    let max = option(max.map(integer));
                    push_violation(
                        quote_spanned!(span=> #rules_path::len(#value, #min, #max, #collection)),
                    )
                }
                RuleKind::Range { min, max } => {
                    self.bound(ty, quote!(::flagstone::validation::rules::Number));
                    let min = option(min.map(float));
                    let max = option(max.map(float));
                    push_violation(quote_spanned!(span=> #rules_path::range(*#value, #min, #max)))
                }
                RuleKind::Pattern { source } => {
                    self.bound(ty, quote!(::core::convert::AsRef<str>));
                    let regex = self.fresh("PATTERN_").to_string().to_uppercase();
                    let regex = format_ident!("{}", regex);
                    self.statics.push(quote! {
                        static #regex: ::std::sync::LazyLock<::flagstone::__private::regex::Regex> =
                            ::std::sync::LazyLock::new(|| {
                                match ::flagstone::__private::regex::Regex::new(#source) {
                                    ::core::result::Result::Ok(regex) => regex,
                                    ::core::result::Result::Err(error) => {
                                        ::core::panic!("pattern {:?} was checked at compile time: {}", #source, error)
                                    }
                                }
                            });
                    });
                    let s = as_str(span, &value);
                    push_violation(
                        quote_spanned!(span=> #rules_path::pattern(#s, &#regex, #source)),
                    )
                }
                RuleKind::Email => {
                    self.bound(ty, quote!(::core::convert::AsRef<str>));
                    let s = as_str(span, &value);
                    push_violation(quote_spanned!(span=> #rules_path::email(#s)))
                }
                RuleKind::Url => {
                    self.bound(ty, quote!(::core::convert::AsRef<str>));
                    let s = as_str(span, &value);
                    push_violation(quote_spanned!(span=> #rules_path::url(#s)))
                }
                RuleKind::OneOf(values) => {
                    self.bound(ty, quote!(::core::convert::AsRef<str>));
                    let s = as_str(span, &value);
                    push_violation(quote_spanned!(span=> #rules_path::one_of(#s, &[#(#values),*])))
                }
                RuleKind::Custom(path) => {
                    let call = quote_spanned!(span=> #path(#value));
                    quote! {
                        if let ::core::result::Result::Err(__flagstone_violation) = #call {
                            __flagstone_errors.push(__flagstone_path.error(__flagstone_violation));
                        }
                    }
                }
                RuleKind::Nested => {
                    self.bound(ty, quote!(::flagstone::validation::Validate));
                    quote_spanned! {span=>
                        ::flagstone::validation::Validate::validate_at(#value, __flagstone_path, __flagstone_errors);
                    }
                }
                RuleKind::Each(inner) => {
                    let Some(element) = types::sequence_element(ty) else {
                        errors.push(Some(syn::Error::new_spanned(
                            &rule.tokens,
                            "each applies to sequences: Vec, VecDeque, slices, arrays and sets (or an Option of one)",
                        )));
                        continue;
                    };
                    let index = self.fresh("index");
                    let item = self.fresh("item");
                    let mark = self.fresh("mark");
                    match self.checks(inner, element, item.clone()) {
                        Ok(body) => quote! {
                            for (#index, #item) in #value.iter().enumerate() {
                                let #mark = __flagstone_path.push_index(#index);
                                #body
                                __flagstone_path.truncate(#mark);
                            }
                        },
                        Err(error) => {
                            errors.push(Some(error));
                            continue;
                        }
                    }
                }
            };
            out.extend(check);
        }
        errors.finish()?;
        Ok(out)
    }
}

/// `ident` with the span of the rule using it.
fn respan(ident: &Ident, span: Span) -> Ident {
    Ident::new(&ident.to_string(), span)
}

/// Pushes the violation `call` returns, if any, at the current path.
fn push_violation(call: TokenStream) -> TokenStream {
    quote! {
        if let ::core::option::Option::Some(__flagstone_violation) = #call {
            __flagstone_errors.push(__flagstone_path.error(__flagstone_violation));
        }
    }
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// An unsuffixed integer literal, typed by where it goes.
fn integer(value: u64) -> TokenStream {
    proc_macro2::Literal::u64_unsuffixed(value).into_token_stream()
}

/// An `f64` literal; negative numbers as a negation, which always survives as tokens.
fn float(value: f64) -> TokenStream {
    let literal = proc_macro2::Literal::f64_suffixed(value.abs());
    match value.is_sign_negative() {
        true => quote!(-#literal),
        false => quote!(#literal),
    }
}

/// The `Constraint` of a field with a JSON name.
fn field_constraint(name: &str, rules: &Rules, ty: &Type, required: bool) -> TokenStream {
    let inner = types::option_inner(ty).or_else(|| types::patch_inner(ty));
    let body = constraint_body(rules, inner.unwrap_or(ty));
    quote! {
        {
            let mut __flagstone_c = ::flagstone::validation::Constraint::new(#name);
            #body
            __flagstone_c.required = #required;
            __flagstone_constraints.push(__flagstone_c);
        }
    }
}

/// Assignments to `__flagstone_c` for what `rules` promise about a value of type `ty`.
fn constraint_body(rules: &Rules, ty: &Type) -> TokenStream {
    let mut out = TokenStream::new();
    let collection = types::is_collection(ty);
    let mut min_length = None;
    let mut max_length = None;
    let mut non_empty = false;
    for rule in rules.iter() {
        match &rule.kind {
            RuleKind::Len { min, max } => {
                min_length = *min;
                max_length = *max;
            }
            RuleKind::NonEmpty => non_empty = true,
            RuleKind::Range { min, max } => {
                let min = option(min.map(float));
                let max = option(max.map(float));
                out.extend(quote! {
                    __flagstone_c.minimum = #min;
                    __flagstone_c.maximum = #max;
                });
            }
            RuleKind::Pattern { source } => out.extend(quote! {
                __flagstone_c.pattern = ::core::option::Option::Some(#source);
            }),
            RuleKind::Email => out.extend(quote! {
                __flagstone_c.format = ::core::option::Option::Some("email");
            }),
            RuleKind::Url => out.extend(quote! {
                __flagstone_c.format = ::core::option::Option::Some("uri");
            }),
            RuleKind::OneOf(values) => out.extend(quote! {
                __flagstone_c.one_of = ::core::option::Option::Some(&[#(#values),*]);
            }),
            RuleKind::Each(inner) => {
                let element =
                    types::sequence_element(ty).map(|e| types::option_inner(e).unwrap_or(e));
                let body = element
                    .map(|element| constraint_body(inner, element))
                    .unwrap_or_default();
                if !body.is_empty() {
                    out.extend(quote! {
                        __flagstone_c.items = ::core::option::Option::Some({
                            let mut __flagstone_c = ::flagstone::validation::Constraint::new(__flagstone_c.field);
                            #body
                            ::std::boxed::Box::new(__flagstone_c)
                        });
                    });
                }
            }
            RuleKind::Required | RuleKind::Custom(_) | RuleKind::Nested => {}
        }
    }
    // A non-empty value has at least one character (or item).
    if non_empty && min_length.is_none_or(|min| min < 1) {
        min_length = Some(1);
    }
    if min_length.is_some() || max_length.is_some() {
        let min = option(min_length.map(integer));
        let max = option(max_length.map(integer));
        out.extend(quote! {
            __flagstone_c.min_length = #min;
            __flagstone_c.max_length = #max;
            __flagstone_c.counts_items = #collection;
        });
    }
    out
}

/// A flattened `nested` field's constraints are its type's, at this level; behind an
/// `Option`, none of them is required.
fn flattened_constraints(ty: &Type, cx: &mut Cx) -> TokenStream {
    match types::option_inner(ty) {
        Some(inner) => {
            cx.bound(inner, quote!(::flagstone::validation::Validate));
            quote! {
                for mut __flagstone_c in <#inner as ::flagstone::validation::Validate>::constraints() {
                    __flagstone_c.required = false;
                    __flagstone_constraints.push(__flagstone_c);
                }
            }
        }
        None => quote! {
            __flagstone_constraints.extend(<#ty as ::flagstone::validation::Validate>::constraints());
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn error(input: DeriveInput) -> String {
        match expand(&input) {
            Ok(tokens) => panic!("expected an error, got {tokens}"),
            Err(e) => e
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" | "),
        }
    }

    fn output(input: DeriveInput) -> String {
        expand(&input).unwrap().to_string()
    }

    #[test]
    fn only_structs_with_named_fields() {
        for input in [
            parse_quote!(
                enum E {
                    A,
                }
            ),
            parse_quote!(
                struct T(String);
            ),
            parse_quote!(
                struct U;
            ),
            parse_quote!(union V { a: u8 }),
        ] {
            assert!(error(input).contains("Validate can be derived for structs with named fields"));
        }
        assert!(
            output(parse_quote!(
                struct Empty {}
            ))
            .contains("impl :: flagstone :: validation :: Validate for Empty")
        );
    }

    #[test]
    fn required_needs_an_option() {
        let message = error(parse_quote!(
            struct S {
                #[validate(required)]
                name: String,
            }
        ));
        assert_eq!(
            message,
            "required applies to Option fields; a non-Option field is always present"
        );
        output(parse_quote!(
            struct S {
                #[validate(required, len(max = 3))]
                name: Option<String>,
            }
        ));
    }

    #[test]
    fn each_needs_a_sequence() {
        let message = error(parse_quote!(
            struct S {
                #[validate(each(len(max = 3)))]
                name: String,
            }
        ));
        assert!(
            message.starts_with("each applies to sequences"),
            "{message}"
        );
        output(parse_quote!(
            struct S {
                #[validate(each(len(max = 3)))]
                tags: Option<Vec<String>>,
            }
        ));
        let message = error(parse_quote!(
            struct S {
                #[validate(each(required))]
                tags: Vec<String>,
            }
        ));
        assert!(
            message.starts_with("required applies to Option fields"),
            "{message}"
        );
    }

    #[test]
    fn errors_of_every_field_are_reported_together() {
        let message = error(parse_quote! {
            #[validate(email)]
            struct S {
                #[validate(lenght(max = 3))] a: String,
                #[validate(required)] b: String,
                #[validate(len(min = 2, max = 1))] c: String,
            }
        });
        assert_eq!(message.matches(" | ").count(), 3, "{message}");
        assert!(
            message.starts_with("#[validate(...)] goes on the fields"),
            "{message}"
        );
    }

    #[test]
    fn skipped_and_flattened_fields() {
        let message = error(parse_quote!(
            struct S {
                #[serde(skip)]
                #[validate(email)]
                a: String,
            }
        ));
        assert!(message.contains("skipped by serde"), "{message}");
        let message = error(parse_quote!(
            struct S {
                #[serde(flatten)]
                #[validate(nested, len(max = 1))]
                a: Inner,
            }
        ));
        assert!(
            message.contains("a flattened field takes only `nested`"),
            "{message}"
        );
        let flattened = output(parse_quote!(
            struct S {
                #[serde(flatten)]
                #[validate(nested)]
                a: Inner,
            }
        ));
        assert!(!flattened.contains("push_field"), "{flattened}");
        assert!(
            flattened
                .contains("< Inner as :: flagstone :: validation :: Validate > :: constraints ()")
        );
    }

    #[test]
    fn concrete_types_register_their_constraints() {
        let concrete = output(parse_quote!(
            struct S {
                #[validate(email)]
                a: String,
            }
        ));
        assert!(
            concrete.contains(":: flagstone :: __private :: register_constraints ! (S) ;"),
            "{concrete}"
        );
        for generic in [
            output(parse_quote!(
                struct G<T> {
                    a: T,
                }
            )),
            output(parse_quote!(
                struct L<'a> {
                    a: &'a str,
                }
            )),
        ] {
            assert!(!generic.contains("register_constraints"), "{generic}");
        }
    }

    #[test]
    fn names_follow_serde() {
        let tokens = output(parse_quote! {
            #[serde(rename_all = "camelCase")]
            struct S {
                #[validate(email)] contact_email: String,
                #[serde(rename = "URL")] #[validate(url)] home_page: String,
            }
        });
        assert!(tokens.contains("push_field (\"contactEmail\")"), "{tokens}");
        assert!(tokens.contains("push_field (\"URL\")"), "{tokens}");
    }

    #[test]
    fn patterns_compile_once_and_generic_fields_get_bounds() {
        let tokens = output(parse_quote! {
            struct S<T, U: Clone> where U: Default {
                #[validate(pattern = "[a-z]+")] a: String,
                #[validate(nested)] b: Vec<T>,
                #[validate(len(max = 2))] c: U,
                d: T,
            }
        });
        assert!(tokens.contains("static __FLAGSTONE_PATTERN_1"), "{tokens}");
        assert!(tokens.contains("\"^(?:[a-z]+)$\""), "{tokens}");
        assert!(
            tokens.contains("Vec < T > : :: flagstone :: validation :: Validate"),
            "{tokens}"
        );
        assert!(
            tokens.contains("U : :: flagstone :: validation :: rules :: Length"),
            "{tokens}"
        );
        assert!(tokens.contains("where U : Default"), "{tokens}");
        assert!(!tokens.contains("String : "), "{tokens}");
    }
}
