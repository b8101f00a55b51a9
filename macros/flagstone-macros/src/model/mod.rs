//! `#[derive(Model)]`: [`parse`] reads the attributes, [`ir`] checks the model as a
//! whole, [`expand`] and [`dto`] write the code.

mod dto;
mod expand;
pub(crate) mod ir;
pub(crate) mod parse;

use proc_macro2::TokenStream;
use syn::DeriveInput;

/// The derive's output for `input`, or every error found in it.
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let model = ir::Model::from_input(input)?;
    expand::expand(&model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_model_expands_to_its_items() {
        let input: DeriveInput = syn::parse_quote! {
            /// A post.
            #[model(collection = "posts", timestamps)]
            #[index(fields(author = 1, created_at = -1))]
            #[index(text(title, body))]
            pub struct Post {
                pub id: Id<Self>,
                #[field(len(min = 3, max = 120), filter, sort)]
                pub title: String,
                #[field(len(max = 20_000))]
                pub body: String,
                #[field(filter, each(len(max = 20)))]
                pub tags: Vec<String>,
                pub subtitle: Option<String>,
                #[field(one_of("draft", "published"), default = "draft".to_owned())]
                pub status: String,
                #[field(hidden)]
                pub note: String,
                #[field(unique)]
                pub slug: String,
                #[field(owner)]
                pub author: Id<User>,
                pub created_at: Timestamp,
                pub updated_at: Timestamp,
            }
        };
        let tokens = derive(&input).unwrap().to_string();
        for item in [
            "pub struct PostCreate",
            "pub struct PostPatch",
            "pub struct PostView",
            "impl :: flagstone :: model :: Model for Post",
            "impl :: flagstone :: query :: Listable for Post",
            "impl :: flagstone :: __private :: serde :: Serialize for Post",
            "impl < 'de > :: flagstone :: __private :: serde :: Deserialize < 'de > for Post",
            "impl :: flagstone :: validation :: Validate for PostCreate",
            "impl :: flagstone :: validation :: Validate for PostPatch",
            ":: flagstone :: __private :: Patch < String >",
            "impl :: flagstone :: __private :: utoipa :: ToSchema for PostView",
        ] {
            assert!(tokens.contains(item), "{item}");
        }
        // No path that depends on the user's imports.
        assert_eq!(
            tokens.matches("utoipa ::").count(),
            tokens.matches("__private :: utoipa ::").count()
        );
        if std::env::var_os("FLAGSTONE_PRINT_EXPANSION").is_some() {
            println!("{tokens}");
        }
    }
}
