//! What the derives need to know about a field's type, read from its syntax alone (a
//! type alias hides it, as in every derive).

use std::collections::HashSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{GenericArgument, PathArguments, Type};

/// The `T` of `Option<T>` (last path segment `Option`), or `None`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    if matches!(ty, Type::Reference(_)) {
        return None;
    }
    let (name, args) = last_segment(ty)?;
    match (name, args.as_slice()) {
        ("Option", [inner]) => Some(*inner),
        _ => None,
    }
}

/// The `T` of the PATCH field type `::flagstone::__private::Patch<T>` (absent, `null` or
/// a value), which rules treat like an `Option`: they check the value, when there is
/// one. Only that path is recognised, so a user's own `Patch` type is left alone.
pub(crate) fn patch_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = strip(ty) else {
        return None;
    };
    let segments = &path.path.segments;
    let private = segments.iter().any(|s| s.ident == "__private");
    let last = segments.last()?;
    if !private || last.ident != "Patch" {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) => match args.args.first() {
            Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `len` counts items of this type rather than characters: `Vec`, `VecDeque`,
/// sets, maps, slices and arrays (also behind `&` or `Box`).
pub(crate) fn is_collection(ty: &Type) -> bool {
    match strip(ty) {
        Type::Slice(_) | Type::Array(_) => true,
        Type::Path(_) => match last_segment(ty) {
            Some(("Box", args)) => matches!(args.as_slice(), [inner] if is_collection(inner)),
            Some((name, _)) => matches!(
                name,
                "Vec" | "VecDeque" | "HashSet" | "BTreeSet" | "HashMap" | "BTreeMap"
            ),
            None => false,
        },
        _ => false,
    }
}

/// The element type of a sequence `each` can walk: `Vec<T>`, `VecDeque<T>`, sets, slices
/// and arrays (also behind `&` or `Box`).
pub(crate) fn sequence_element(ty: &Type) -> Option<&Type> {
    match strip(ty) {
        Type::Slice(slice) => Some(&slice.elem),
        Type::Array(array) => Some(&array.elem),
        Type::Path(_) => {
            let (name, args) = last_segment(ty)?;
            match (name, args.as_slice()) {
                ("Box", [inner]) => sequence_element(inner),
                ("Vec" | "VecDeque" | "HashSet" | "BTreeSet", [elem]) => Some(*elem),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `ty` names one of `params` anywhere (so a bound on it must be stated).
pub(crate) fn mentions(ty: &Type, params: &HashSet<String>) -> bool {
    fn walk(tokens: TokenStream, params: &HashSet<String>) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => params.contains(&ident.to_string()),
            TokenTree::Group(group) => walk(group.stream(), params),
            _ => false,
        })
    }
    !params.is_empty() && walk(ty.to_token_stream(), params)
}

/// `ty` without references, parentheses and invisible groups.
fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Reference(reference) => strip(&reference.elem),
        Type::Paren(paren) => strip(&paren.elem),
        Type::Group(group) => strip(&group.elem),
        other => other,
    }
}

/// The last segment of a path type: its name and its type arguments.
fn last_segment(ty: &Type) -> Option<(&'static str, Vec<&Type>)> {
    let Type::Path(path) = strip(ty) else {
        return None;
    };
    let segment = path.path.segments.last()?;
    let name = KNOWN.iter().find(|known| segment.ident == known)?;
    let args = match &segment.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((name, args))
}

/// The type names the derives recognise.
const KNOWN: &[&str] = &[
    "Option", "Box", "Vec", "VecDeque", "HashSet", "BTreeSet", "HashMap", "BTreeMap",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> Type {
        syn::parse_str(s).unwrap()
    }

    fn show(ty: Option<&Type>) -> Option<String> {
        ty.map(|t| t.to_token_stream().to_string())
    }

    #[test]
    fn options_are_found_by_their_last_segment() {
        assert_eq!(
            show(option_inner(&ty("Option<String>"))),
            Some("String".into())
        );
        assert_eq!(
            show(option_inner(&ty("std::option::Option<Vec<u8>>"))),
            Some("Vec < u8 >".into())
        );
        assert_eq!(
            show(option_inner(&ty("Option<Option<i32>>"))),
            Some("Option < i32 >".into())
        );
        assert!(option_inner(&ty("String")).is_none());
        assert!(option_inner(&ty("Vec<Option<u8>>")).is_none());
        assert!(option_inner(&ty("Option")).is_none());
    }

    #[test]
    fn patch_fields_are_found_by_their_full_path() {
        assert_eq!(
            show(patch_inner(&ty("::flagstone::__private::Patch<String>"))),
            Some("String".into())
        );
        assert!(patch_inner(&ty("Patch<String>")).is_none());
        assert!(patch_inner(&ty("Option<String>")).is_none());
    }

    #[test]
    fn collections_count_items() {
        for yes in [
            "Vec<String>",
            "std::collections::HashMap<String, u8>",
            "BTreeMap<u8, u8>",
            "HashSet<u8>",
            "[u8]",
            "&'a [u8]",
            "[u8; 4]",
            "Box<[u8]>",
            "VecDeque<u8>",
        ] {
            assert!(is_collection(&ty(yes)), "{yes}");
        }
        for no in [
            "String",
            "&'a str",
            "Box<str>",
            "Cow<'a, str>",
            "i32",
            "Item",
            "Option<Vec<u8>>",
        ] {
            assert!(!is_collection(&ty(no)), "{no}");
        }
    }

    #[test]
    fn sequences_have_elements() {
        assert_eq!(
            show(sequence_element(&ty("Vec<String>"))),
            Some("String".into())
        );
        assert_eq!(
            show(sequence_element(&ty("[Item; 3]"))),
            Some("Item".into())
        );
        assert_eq!(
            show(sequence_element(&ty("&'a [Option<u8>]"))),
            Some("Option < u8 >".into())
        );
        assert_eq!(show(sequence_element(&ty("Box<[u8]>"))), Some("u8".into()));
        assert!(sequence_element(&ty("HashMap<String, u8>")).is_none());
        assert!(sequence_element(&ty("String")).is_none());
    }

    #[test]
    fn generic_parameters_are_spotted() {
        let params: HashSet<String> = ["T".to_owned()].into();
        assert!(mentions(&ty("T"), &params));
        assert!(mentions(&ty("Vec<Option<T>>"), &params));
        assert!(mentions(&ty("[T; 2]"), &params));
        assert!(!mentions(&ty("Vec<Tag>"), &params));
        assert!(!mentions(&ty("T"), &HashSet::new()));
    }
}
