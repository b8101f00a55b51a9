//! The rule grammar shared by `#[validate(...)]` and, later, `#[field(...)]`:
//!
//! ```text
//! required | non_empty | email | url | nested
//! len(min = 3, max = 120)          integer literals, at least one bound
//! range(min = -1.5, max = 100)     number literals, at least one bound
//! pattern = "^[a-z0-9-]+$"         a string literal, checked as a regex here
//! one_of("draft", "published")     string literals, at least one
//! custom = path::to::check         fn(&T) -> Result<(), Violation>
//! each(rule, ...)                  the rules, on every element
//! ```
//!
//! [`Rules::parse_metas`] takes the rules out of a list of metas and hands back the items
//! it does not know, so an attribute with keys of its own can mix both; for
//! `#[validate(...)]` ([`Rules::from_validate_attr`]) an unknown item is an error.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{
    Attribute, Expr, ExprLit, ExprPath, ExprUnary, Lit, Meta, Path, Token, UnOp,
    punctuated::Punctuated, spanned::Spanned,
};

/// The rule names, in the order the docs list them.
pub(crate) const RULE_NAMES: &[&str] = &[
    "required",
    "non_empty",
    "len",
    "range",
    "pattern",
    "email",
    "url",
    "one_of",
    "custom",
    "nested",
    "each",
];

/// How each rule is written, for the error on an unknown key.
const RULE_SYNTAX: &str = "required, non_empty, len(min = .., max = ..), range(min = .., max = ..), \
                           pattern = \"regex\", email, url, one_of(\"a\", \"b\"), custom = path::to::fn, nested, \
                           each(rules..)";

/// The rules of one field (or, inside `each`, of its elements), in the order written.
#[derive(Default)]
pub(crate) struct Rules {
    list: Vec<Rule>,
}

/// One rule and where it was written.
pub(crate) struct Rule {
    /// What it checks.
    pub(crate) kind: RuleKind,
    /// The rule's name, for the generated code's spans.
    pub(crate) span: Span,
    /// The whole rule, for errors about it.
    pub(crate) tokens: TokenStream,
}

/// A rule and its arguments, checked.
pub(crate) enum RuleKind {
    /// `required`
    Required,
    /// `non_empty`
    NonEmpty,
    /// `len(min, max)`
    Len { min: Option<u64>, max: Option<u64> },
    /// `range(min, max)`
    Range { min: Option<f64>, max: Option<f64> },
    /// `pattern = "..."`, with its anchored source.
    Pattern { source: String },
    /// `email`
    Email,
    /// `url`
    Url,
    /// `one_of("a", ...)`
    OneOf(Vec<String>),
    /// `custom = path`
    Custom(Box<Path>),
    /// `nested`
    Nested,
    /// `each(rules...)`
    Each(Rules),
}

impl RuleKind {
    /// The rule's name as written.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::NonEmpty => "non_empty",
            Self::Len { .. } => "len",
            Self::Range { .. } => "range",
            Self::Pattern { .. } => "pattern",
            Self::Email => "email",
            Self::Url => "url",
            Self::OneOf(_) => "one_of",
            Self::Custom(_) => "custom",
            Self::Nested => "nested",
            Self::Each(_) => "each",
        }
    }
}

impl Rules {
    /// The rules of a `#[validate(...)]` attribute; every item must be a rule.
    pub(crate) fn from_validate_attr(attr: &Attribute) -> syn::Result<Self> {
        let metas = attr_metas(attr)?;
        let (rules, unknown) = Self::parse_metas(metas)?;
        match unknown_keys_error(&unknown, &[]) {
            Some(error) => Err(error),
            None => Ok(rules),
        }
    }

    /// Takes the rules out of `metas`, in order. Returns them with the items that are not
    /// rules (in order, untouched), for an attribute that has keys of its own. Every error
    /// in the rules is reported, not only the first.
    pub(crate) fn parse_metas(
        metas: impl IntoIterator<Item = Meta>,
    ) -> syn::Result<(Self, Vec<Meta>)> {
        let mut rules = Self::default();
        let mut unknown = Vec::new();
        let mut errors = Errors::default();
        for meta in metas {
            let Some(name) = rule_name(meta.path()) else {
                unknown.push(meta);
                continue;
            };
            match parse_rule(&meta, name) {
                Ok(kind) => {
                    let rule = Rule {
                        kind,
                        span: meta.path().span(),
                        tokens: meta.to_token_stream(),
                    };
                    errors.push(rules.push(rule).err());
                }
                Err(error) => errors.push(Some(error)),
            }
        }
        errors.finish()?;
        Ok((rules, unknown))
    }

    /// Adds the rules of another attribute on the same field.
    pub(crate) fn extend(&mut self, other: Self) -> syn::Result<()> {
        let mut errors = Errors::default();
        for rule in other.list {
            errors.push(self.push(rule).err());
        }
        errors.finish()
    }

    fn push(&mut self, rule: Rule) -> syn::Result<()> {
        let repeatable = matches!(rule.kind, RuleKind::Custom(_));
        if !repeatable && self.list.iter().any(|r| r.kind.name() == rule.kind.name()) {
            return Err(syn::Error::new_spanned(
                &rule.tokens,
                format!("duplicate rule `{}`", rule.kind.name()),
            ));
        }
        self.list.push(rule);
        Ok(())
    }

    /// The rules, in the order written.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Rule> {
        self.list.iter()
    }

    /// Whether no rule was given.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The first rule matching `f`.
    pub(crate) fn find(&self, f: impl Fn(&RuleKind) -> bool) -> Option<&Rule> {
        self.list.iter().find(|rule| f(&rule.kind))
    }
}

/// The items of `#[name(...)]`; `#[name]` and `#[name = ..]` are errors.
pub(crate) fn attr_metas(attr: &Attribute) -> syn::Result<Punctuated<Meta, Token![,]>> {
    match &attr.meta {
        Meta::List(list) => list.parse_args_with(Punctuated::parse_terminated),
        other => {
            let name = other.path().to_token_stream();
            Err(syn::Error::new_spanned(
                other,
                format!("expected #[{name}(...)]"),
            ))
        }
    }
}

/// One error for the first item of `unknown` (the rest follow combined), naming the
/// rules and `extra` keys the attribute accepts. `None` when nothing is unknown.
pub(crate) fn unknown_keys_error(unknown: &[Meta], extra: &[&str]) -> Option<syn::Error> {
    let mut errors = Errors::default();
    for meta in unknown {
        let name = meta.path().to_token_stream().to_string().replace(' ', "");
        let hint = match name.as_str() {
            "length" | "min_length" | "max_length" => " (did you mean `len`?)",
            "regex" => " (did you mean `pattern`?)",
            "min" | "max" => " (did you mean `len(..)` or `range(..)`?)",
            "enumeration" | "options" | "in" => " (did you mean `one_of`?)",
            "nonempty" | "not_empty" | "not_blank" => " (did you mean `non_empty`?)",
            "uri" => " (did you mean `url`?)",
            "dive" | "validate" => " (did you mean `nested`?)",
            _ => "",
        };
        let mut known = String::new();
        for key in extra {
            known.push_str(key);
            known.push_str(", ");
        }
        known.push_str(RULE_SYNTAX);
        errors.push(Some(syn::Error::new_spanned(
            meta.path(),
            format!("unknown rule `{name}`{hint}; expected one of: {known}"),
        )));
    }
    errors.finish().err()
}

/// The rule `path` names, if any.
fn rule_name(path: &Path) -> Option<&'static str> {
    let ident = path.get_ident()?;
    RULE_NAMES.iter().copied().find(|name| ident == name)
}

fn parse_rule(meta: &Meta, name: &'static str) -> syn::Result<RuleKind> {
    match name {
        "required" => flag(meta, RuleKind::Required),
        "non_empty" => flag(meta, RuleKind::NonEmpty),
        "email" => flag(meta, RuleKind::Email),
        "url" => flag(meta, RuleKind::Url),
        "nested" => flag(meta, RuleKind::Nested),
        "len" => {
            let (min, max) = bounds(meta, "len", "len(min = 1, max = 50)", |expr| {
                integer(expr).ok_or_else(|| {
                    syn::Error::new_spanned(
                        expr,
                        "len bounds are non-negative integer literals, like `min = 3`",
                    )
                })
            })?;
            Ok(RuleKind::Len { min, max })
        }
        "range" => {
            let (min, max) = bounds(meta, "range", "range(min = 0, max = 100)", |expr| {
                number(expr).ok_or_else(|| {
                    syn::Error::new_spanned(
                        expr,
                        "range bounds are number literals, like `min = 0`, `max = 99.5` or `min = -10`",
                    )
                })
            })?;
            Ok(RuleKind::Range { min, max })
        }
        "pattern" => {
            let Meta::NameValue(nv) = meta else {
                return Err(syn::Error::new_spanned(meta, "write pattern = \"regex\""));
            };
            let Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) = ungroup(&nv.value)
            else {
                return Err(syn::Error::new_spanned(
                    &nv.value,
                    "pattern takes a string literal: pattern = \"^[a-z]+$\"",
                ));
            };
            let source =
                anchored(&lit.value()).map_err(|message| syn::Error::new_spanned(lit, message))?;
            Ok(RuleKind::Pattern { source })
        }
        "one_of" => {
            let Meta::List(list) = meta else {
                return Err(syn::Error::new_spanned(meta, "write one_of(\"a\", \"b\")"));
            };
            let values = list.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated)?;
            if values.is_empty() {
                return Err(syn::Error::new_spanned(
                    list,
                    "one_of needs at least one value: one_of(\"a\", \"b\")",
                ));
            }
            let mut out = Vec::new();
            for value in &values {
                match ungroup(value) {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => out.push(s.value()),
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "one_of values are string literals",
                        ));
                    }
                }
            }
            Ok(RuleKind::OneOf(out))
        }
        "custom" => {
            let message = "custom takes a function: custom = path::to::check, with fn check(&T) -> Result<(), Violation>";
            let Meta::NameValue(nv) = meta else {
                return Err(syn::Error::new_spanned(meta, message));
            };
            match ungroup(&nv.value) {
                Expr::Path(ExprPath {
                    qself: None, path, ..
                }) => Ok(RuleKind::Custom(Box::new(path.clone()))),
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Ok(RuleKind::Custom(Box::new(s.parse()?))),
                other => Err(syn::Error::new_spanned(other, message)),
            }
        }
        "each" => {
            let Meta::List(list) = meta else {
                return Err(syn::Error::new_spanned(
                    meta,
                    "write each(rules..), like each(len(max = 20))",
                ));
            };
            let metas = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
            if metas.is_empty() {
                return Err(syn::Error::new_spanned(
                    list,
                    "each needs at least one rule, like each(len(max = 20))",
                ));
            }
            let (rules, unknown) = Rules::parse_metas(metas)?;
            match unknown_keys_error(&unknown, &[]) {
                Some(error) => Err(error),
                None => Ok(RuleKind::Each(rules)),
            }
        }
        _ => Err(syn::Error::new_spanned(
            meta,
            format!("unknown rule `{name}`"),
        )),
    }
}

/// A rule without arguments.
fn flag(meta: &Meta, kind: RuleKind) -> syn::Result<RuleKind> {
    match meta {
        Meta::Path(_) => Ok(kind),
        _ => Err(syn::Error::new_spanned(
            meta,
            format!(
                "`{}` takes no arguments: write just `{}`",
                kind.name(),
                kind.name()
            ),
        )),
    }
}

/// `name(min = .., max = ..)`: at least one bound, each once, `min <= max`.
fn bounds<T: PartialOrd + std::fmt::Display + Copy>(
    meta: &Meta,
    name: &str,
    example: &str,
    value: impl Fn(&Expr) -> syn::Result<T>,
) -> syn::Result<(Option<T>, Option<T>)> {
    let Meta::List(list) = meta else {
        return Err(syn::Error::new_spanned(meta, format!("write {example}")));
    };
    let items = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
    let (mut min, mut max) = (None, None);
    let mut max_expr = None;
    for item in &items {
        let Meta::NameValue(nv) = item else {
            return Err(syn::Error::new_spanned(
                item,
                format!("{name} takes `min = ..` and `max = ..`: {example}"),
            ));
        };
        let slot = if nv.path.is_ident("min") {
            &mut min
        } else if nv.path.is_ident("max") {
            max_expr = Some(&nv.value);
            &mut max
        } else {
            return Err(syn::Error::new_spanned(
                &nv.path,
                format!("{name} takes `min = ..` and `max = ..`: {example}"),
            ));
        };
        if slot.is_some() {
            return Err(syn::Error::new_spanned(
                item,
                format!("duplicate `{}`", nv.path.to_token_stream()),
            ));
        }
        *slot = Some(value(&nv.value)?);
    }
    match (min, max) {
        (None, None) => Err(syn::Error::new_spanned(
            list,
            format!("{name} needs min, max or both: {example}"),
        )),
        (Some(lo), Some(hi)) if lo > hi => Err(syn::Error::new_spanned(
            max_expr.map_or_else(|| list.to_token_stream(), ToTokens::to_token_stream),
            format!("{name}: min ({lo}) is greater than max ({hi})"),
        )),
        bounds => Ok(bounds),
    }
}

/// `expr` out of the invisible groups a `macro_rules!` wraps its fragments in.
fn ungroup(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => ungroup(&group.expr),
        other => other,
    }
}

/// A non-negative integer literal.
fn integer(expr: &Expr) -> Option<u64> {
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse().ok(),
        _ => None,
    }
}

/// An integer or float literal, maybe negated; finite.
fn number(expr: &Expr) -> Option<f64> {
    let value = match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse::<f64>().ok()?,
        Expr::Lit(ExprLit {
            lit: Lit::Float(float),
            ..
        }) => float.base10_parse::<f64>().ok()?,
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match ungroup(expr) {
            Expr::Lit(_) => -number(expr)?,
            _ => return None,
        },
        _ => return None,
    };
    value.is_finite().then_some(value)
}

/// The pattern as the runtime compiles it: kept when every match already runs from start
/// to end (`^...$` on every branch), wrapped as `^(?:...)$` otherwise. An error is the
/// regex engine's message.
pub(crate) fn anchored(source: &str) -> Result<String, String> {
    use regex_syntax::hir::Look;

    regex::Regex::new(source).map_err(|e| format!("invalid pattern: {e}"))?;
    let hir = regex_syntax::Parser::new()
        .parse(source)
        .map_err(|e| format!("invalid pattern: {e}"))?;
    let props = hir.properties();
    let anchored_both = props.look_set_prefix().contains(Look::Start)
        && props.look_set_suffix().contains(Look::End);
    let source = match anchored_both {
        true => source.to_owned(),
        false => format!("^(?:{source})$"),
    };
    regex::Regex::new(&source).map_err(|e| format!("invalid pattern: {e}"))?;
    Ok(source)
}

/// Collects errors so that all of them are reported at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds an error, if there is one.
    pub(crate) fn push(&mut self, error: Option<syn::Error>) {
        if let Some(error) = error {
            match &mut self.0 {
                Some(all) => all.combine(error),
                None => self.0 = Some(error),
            }
        }
    }

    /// `Err` with every error pushed, if any.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn parse(attr: Attribute) -> syn::Result<Rules> {
        Rules::from_validate_attr(&attr)
    }

    fn error(attr: Attribute) -> String {
        match parse(attr) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" | "),
        }
    }

    fn names(rules: &Rules) -> Vec<&'static str> {
        rules.iter().map(|r| r.kind.name()).collect()
    }

    #[test]
    fn every_rule_parses() {
        let rules = parse(parse_quote!(#[validate(
            required, non_empty, len(min = 3, max = 120), range(min = -0.5, max = 100),
            pattern = "[a-z]+", email, url, one_of("draft", "published"), custom = crate::checks::title,
            nested, each(len(min = 1), non_empty)
        )]))
        .unwrap();
        assert_eq!(
            names(&rules),
            [
                "required",
                "non_empty",
                "len",
                "range",
                "pattern",
                "email",
                "url",
                "one_of",
                "custom",
                "nested",
                "each"
            ]
        );
        let kinds: Vec<&RuleKind> = rules.iter().map(|r| &r.kind).collect();
        assert!(matches!(
            kinds[2],
            RuleKind::Len {
                min: Some(3),
                max: Some(120)
            }
        ));
        assert!(
            matches!(kinds[3], RuleKind::Range { min: Some(lo), max: Some(hi) } if *lo == -0.5 && *hi == 100.0)
        );
        assert!(matches!(kinds[4], RuleKind::Pattern { source } if source == "^(?:[a-z]+)$"));
        assert!(matches!(kinds[7], RuleKind::OneOf(v) if v == &["draft", "published"]));
        assert!(
            matches!(kinds[8], RuleKind::Custom(p) if p.to_token_stream().to_string() == "crate :: checks :: title")
        );
        let RuleKind::Each(inner) = kinds[10] else {
            panic!("each")
        };
        assert_eq!(names(inner), ["len", "non_empty"]);
    }

    #[test]
    fn one_bound_is_enough_and_literals_may_be_typed() {
        let rules =
            parse(parse_quote!(#[validate(len(max = 20_000usize), range(min = 1e3))])).unwrap();
        let kinds: Vec<&RuleKind> = rules.iter().map(|r| &r.kind).collect();
        assert!(matches!(
            kinds[0],
            RuleKind::Len {
                min: None,
                max: Some(20_000)
            }
        ));
        assert!(matches!(kinds[1], RuleKind::Range { min: Some(lo), max: None } if *lo == 1000.0));
        let exact =
            parse(parse_quote!(#[validate(len(min = 2, max = 2), custom = "check")])).unwrap();
        assert_eq!(names(&exact), ["len", "custom"]);
    }

    #[test]
    fn unknown_rules_name_the_known_ones() {
        let message = error(parse_quote!(#[validate(length(min = 1))]));
        assert!(
            message.starts_with("unknown rule `length` (did you mean `len`?)"),
            "{message}"
        );
        assert!(
            message.contains("len(min = .., max = ..)") && message.contains("one_of"),
            "{message}"
        );
        let message = error(parse_quote!(#[validate(email, frobnicate, regex = "x")]));
        assert!(
            message.contains("`frobnicate`")
                && message.contains("`regex` (did you mean `pattern`?)"),
            "{message}"
        );
        assert!(error(parse_quote!(#[validate(each(foo))])).contains("unknown rule `foo`"));
    }

    #[test]
    fn bounds_are_checked() {
        for (attr, expected) in [
            (
                parse_quote!(#[validate(len())]),
                "len needs min, max or both",
            ),
            (
                parse_quote!(#[validate(len)]),
                "write len(min = 1, max = 50)",
            ),
            (
                parse_quote!(#[validate(len(min = 5, max = 3))]),
                "len: min (5) is greater than max (3)",
            ),
            (
                parse_quote!(#[validate(range(min = 10, max = -1))]),
                "range: min (10) is greater than max (-1)",
            ),
            (
                parse_quote!(#[validate(len(min = MIN))]),
                "len bounds are non-negative integer literals",
            ),
            (
                parse_quote!(#[validate(len(min = -1))]),
                "len bounds are non-negative integer literals",
            ),
            (
                parse_quote!(#[validate(len(max = 1.5))]),
                "len bounds are non-negative integer literals",
            ),
            (
                parse_quote!(#[validate(len(max = "3"))]),
                "len bounds are non-negative integer literals",
            ),
            (
                parse_quote!(#[validate(range(max = "3"))]),
                "range bounds are number literals",
            ),
            (
                parse_quote!(#[validate(range(max = LIMIT))]),
                "range bounds are number literals",
            ),
            (
                parse_quote!(#[validate(range(max = 1e999))]),
                "range bounds are number literals",
            ),
            (
                parse_quote!(#[validate(len(min = 1, min = 2))]),
                "duplicate `min`",
            ),
            (
                parse_quote!(#[validate(len(min = 1, items = true))]),
                "len takes `min = ..` and `max = ..`",
            ),
        ] {
            let message = error(attr);
            assert!(
                message.contains(expected),
                "{message:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn literal_kinds_are_checked() {
        for (attr, expected) in [
            (
                parse_quote!(#[validate(pattern = 5)]),
                "pattern takes a string literal",
            ),
            (
                parse_quote!(#[validate(pattern = PATTERN)]),
                "pattern takes a string literal",
            ),
            (
                parse_quote!(#[validate(pattern("x"))]),
                "write pattern = \"regex\"",
            ),
            (
                parse_quote!(#[validate(pattern = "(unclosed")]),
                "invalid pattern",
            ),
            (
                parse_quote!(#[validate(one_of())]),
                "one_of needs at least one value",
            ),
            (
                parse_quote!(#[validate(one_of)]),
                "write one_of(\"a\", \"b\")",
            ),
            (
                parse_quote!(#[validate(one_of("a", 2))]),
                "one_of values are string literals",
            ),
            (
                parse_quote!(#[validate(custom = 3)]),
                "custom takes a function",
            ),
            (parse_quote!(#[validate(custom)]), "custom takes a function"),
            (
                parse_quote!(#[validate(email = true)]),
                "`email` takes no arguments",
            ),
            (
                parse_quote!(#[validate(nested())]),
                "`nested` takes no arguments",
            ),
            (
                parse_quote!(#[validate(each())]),
                "each needs at least one rule",
            ),
            (parse_quote!(#[validate(each)]), "write each(rules..)"),
            (parse_quote!(#[validate]), "expected #[validate(...)]"),
            (
                parse_quote!(#[validate = "email"]),
                "expected #[validate(...)]",
            ),
        ] {
            let message = error(attr);
            assert!(
                message.contains(expected),
                "{message:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn every_error_is_reported_and_duplicates_are_refused() {
        let message = error(parse_quote!(#[validate(len(), email = 1, email, email)]));
        assert_eq!(message.matches(" | ").count(), 2, "{message}");
        assert!(message.contains("duplicate rule `email`"), "{message}");
        let mut rules = parse(parse_quote!(#[validate(custom = a, len(max = 3))])).unwrap();
        rules
            .extend(parse(parse_quote!(#[validate(custom = b)])).unwrap())
            .unwrap();
        assert_eq!(names(&rules), ["custom", "len", "custom"]);
        let again = rules.extend(parse(parse_quote!(#[validate(len(min = 1))])).unwrap());
        assert!(again.is_err());
    }

    #[test]
    fn other_keys_are_handed_back_for_attributes_that_share_the_grammar() {
        let attr: Attribute =
            parse_quote!(#[field(filter, len(max = 80), sort = "desc", hidden, email)]);
        let (rules, rest) = Rules::parse_metas(attr_metas(&attr).unwrap()).unwrap();
        assert_eq!(names(&rules), ["len", "email"]);
        let rest: Vec<String> = rest
            .iter()
            .map(|m| m.to_token_stream().to_string())
            .collect();
        assert_eq!(rest, ["filter", "sort = \"desc\"", "hidden"]);
        let error = unknown_keys_error(
            &Rules::parse_metas(attr_metas(&parse_quote!(#[field(flter)])).unwrap())
                .unwrap()
                .1,
            &["filter", "sort"],
        )
        .unwrap()
        .to_string();
        assert!(
            error.contains("expected one of: filter, sort, required"),
            "{error}"
        );
        // A broken rule is still an error, whatever else the attribute accepts.
        assert!(
            Rules::parse_metas(attr_metas(&parse_quote!(#[field(filter, len())])).unwrap())
                .is_err()
        );
    }

    #[test]
    fn literals_passed_through_macro_rules_are_read() {
        // `macro_rules!` hands `$x:literal` on wrapped in an invisible group.
        let group =
            |tokens: TokenStream| proc_macro2::Group::new(proc_macro2::Delimiter::None, tokens);
        let (pattern, max, value) = (
            group(quote::quote!("[a-z]")),
            group(quote::quote!(5)),
            group(quote::quote!("a")),
        );
        let metas: Punctuated<Meta, Token![,]> =
            parse_quote!(pattern = #pattern, len(max = #max), range(min = -#max), one_of(#value));
        let (rules, rest) = Rules::parse_metas(metas).unwrap();
        assert!(rest.is_empty());
        let kinds: Vec<&RuleKind> = rules.iter().map(|r| &r.kind).collect();
        assert!(matches!(kinds[0], RuleKind::Pattern { source } if source == "^(?:[a-z])$"));
        assert!(matches!(
            kinds[1],
            RuleKind::Len {
                min: None,
                max: Some(5)
            }
        ));
        assert!(matches!(kinds[2], RuleKind::Range { min: Some(lo), max: None } if *lo == -5.0));
        assert!(matches!(kinds[3], RuleKind::OneOf(v) if v == &["a"]));
    }

    #[test]
    fn patterns_are_anchored_once() {
        assert_eq!(anchored("^[a-z0-9-]+$").unwrap(), "^[a-z0-9-]+$");
        assert_eq!(anchored(r"\A\d+\z").unwrap(), r"\A\d+\z");
        assert_eq!(anchored("[a-z]+").unwrap(), "^(?:[a-z]+)$");
        assert_eq!(anchored("^a").unwrap(), "^(?:^a)$");
        // Anchored on one branch only: `^a|b$` would accept "xb".
        assert_eq!(anchored("^a|b$").unwrap(), "^(?:^a|b$)$");
        assert_eq!(anchored("^(a|b)$").unwrap(), "^(a|b)$");
        // Multi-line anchors match at line breaks, so they do not count.
        assert_eq!(anchored("(?m)^a$").unwrap(), "^(?:(?m)^a$)$");
        assert!(anchored("a{").unwrap_err().starts_with("invalid pattern"));
        assert!(anchored("[z-a]").is_err());
    }
}
