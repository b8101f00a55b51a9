//! `impl Model`, `impl Listable` and the stored form's serde impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::{
    dto,
    ir::{Access, Field, Model, Role, Scalar, field_kind, field_type, span_of},
    parse::IndexKey,
};

/// Everything `#[derive(Model)]` writes.
pub(crate) fn expand(model: &Model) -> syn::Result<TokenStream> {
    let dtos = dto::expand(model)?;
    let serde = serde_impls(model);
    let model_impl = model_impl(model);
    let listable = listable_impl(model);
    Ok(quote! {
        #dtos

        #[doc(hidden)]
        const _: () = {
            #serde
            #model_impl
            #listable
        };
    })
}

fn field_idents(model: &Model) -> Vec<&syn::Ident> {
    model.fields.iter().map(|f| &f.ident).collect()
}

/// `Serialize` through a borrowing mirror and `Deserialize` through an owned one, both
/// with the stored names (`_id`).
fn serde_impls(model: &Model) -> TokenStream {
    let ident = &model.ident;
    let idents = field_idents(model);
    let serde = quote!(::flagstone::__private::serde);
    let mut defaults = Vec::new();
    let ser_fields = model.fields.iter().map(|f| {
        let (name, ty, stored) = (&f.ident, &f.ty, &f.stored);
        let skip = f
            .optional
            .then(|| quote!(#[serde(skip_serializing_if = "__flagstone_is_none")]));
        quote! { #[serde(rename = #stored)] #skip #name: &'__flagstone #ty, }
    });
    let de_fields = model
        .fields
        .iter()
        .map(|f| {
            let (name, ty, stored) = (&f.ident, &f.ty, &f.stored);
            let default = match (&f.default, f.array && !f.optional) {
                (Some(expr), _) => {
                    let function = format_ident!("__flagstone_default_{}", name);
                    let path = function.to_string();
                    defaults.push(quote_spanned! {span_of(f)=>
                        fn #function() -> #ty {
                            #expr
                        }
                    });
                    quote!(#[serde(default = #path)])
                }
                (None, true) => quote!(#[serde(default)]),
                (None, false) => TokenStream::new(),
            };
            quote! { #[serde(rename = #stored)] #default #name: #ty, }
        })
        .collect::<Vec<_>>();
    quote! {
        #[allow(clippy::ref_option)]
        fn __flagstone_is_none<T>(value: &&::core::option::Option<T>) -> bool {
            ::core::option::Option::is_none(*value)
        }

        #(#defaults)*

        #[derive(#serde::Serialize)]
        #[serde(crate = "::flagstone::__private::serde")]
        struct __FlagstoneStoredRef<'__flagstone> {
            #(#ser_fields)*
        }

        #[derive(#serde::Deserialize)]
        #[serde(crate = "::flagstone::__private::serde")]
        struct __FlagstoneStored {
            #(#de_fields)*
        }

        #[automatically_derived]
        impl #serde::Serialize for #ident {
            fn serialize<__S: #serde::Serializer>(
                &self,
                serializer: __S,
            ) -> ::core::result::Result<__S::Ok, __S::Error> {
                #serde::Serialize::serialize(
                    &__FlagstoneStoredRef { #(#idents: &self.#idents),* },
                    serializer,
                )
            }
        }

        #[automatically_derived]
        impl<'de> #serde::Deserialize<'de> for #ident {
            fn deserialize<__D: #serde::Deserializer<'de>>(
                deserializer: __D,
            ) -> ::core::result::Result<Self, __D::Error> {
                let stored = <__FlagstoneStored as #serde::Deserialize>::deserialize(deserializer)?;
                ::core::result::Result::Ok(Self { #(#idents: stored.#idents),* })
            }
        }
    }
}

/// The value a new document takes for `field`.
fn created_value(field: &Field) -> TokenStream {
    let ident = &field.ident;
    match (field.role, field.writable(), &field.default) {
        (Role::Id, _, _) => quote!(::flagstone::Id::from_object_id(ctx.id)),
        (Role::CreatedAt | Role::UpdatedAt, _, _) => quote!(::core::clone::Clone::clone(&ctx.now)),
        (Role::Owner, _, _) => quote!(::flagstone::Id::from_object_id(__flagstone_owner)),
        (_, true, Some(expr)) => quote! {
            match input.#ident {
                ::core::option::Option::Some(value) => value,
                ::core::option::Option::None => #expr,
            }
        },
        (_, true, None) => quote!(input.#ident),
        (_, false, Some(expr)) => quote!(#expr),
        // A hidden or read-only field without a default starts empty; hooks set it.
        (_, false, None) => quote_spanned!(span_of(field)=> ::core::default::Default::default()),
    }
}

fn model_impl(model: &Model) -> TokenStream {
    let ident = &model.ident;
    let (create, patch, view) = dto::names(model);
    let collection = &model.collection;
    let name = ident.to_string();
    let timestamps = model.timestamps;
    let m = quote!(::flagstone::model);

    // fields()
    let defs = model.fields.iter().map(|f| {
        let (stored, rust) = (&f.stored, f.ident.to_string());
        let ty = field_type(&f.scalar);
        let (array, optional) = (f.array, f.optional);
        let visibility = match f.access {
            Access::Normal => quote!(Normal),
            Access::Hidden => quote!(Hidden),
            Access::ReadOnly => quote!(ReadOnly),
            Access::WriteOnly => quote!(WriteOnly),
        };
        let (filter, sort, select) = (f.filter, f.sort, f.select);
        let owner = f.role == Role::Owner;
        let unique = f.unique;
        let reference = match &f.scalar {
            Scalar::Id {
                target,
                itself: false,
            } => {
                quote!(::core::option::Option::Some(#m::Reference::to::<#target>()))
            }
            _ => quote!(::core::option::Option::None),
        };
        quote! {
            #m::FieldDef::__derived(
                #stored, #rust, #ty, #array, #optional, #m::Visibility::#visibility,
                [#filter, #sort, #select], #owner, #unique, #reference,
            )
        }
    });
    let count = model.fields.len();

    // indexes()
    let mut indexes: Vec<TokenStream> = Vec::new();
    let index = |keys: &[(String, IndexKey)],
                 unique: bool,
                 sparse: bool,
                 ttl: Option<u64>,
                 name: Option<&String>| {
        let inserts = keys.iter().map(|(key, kind)| match kind {
            IndexKey::Asc => quote!(keys.insert(#key, 1_i32);),
            IndexKey::Desc => quote!(keys.insert(#key, -1_i32);),
            IndexKey::Text => quote!(keys.insert(#key, "text");),
        });
        let unique = unique.then(|| quote!(.unique()));
        let sparse = sparse.then(|| quote!(.sparse()));
        let ttl = ttl.map(|secs| quote!(.expire_after(::core::time::Duration::from_secs(#secs))));
        let name = name.map(|name| quote!(.name(#name)));
        quote! {
            indexes.push(
                ::flagstone::store::Index::new({
                    let mut keys = ::flagstone::bson::Document::new();
                    #(#inserts)*
                    keys
                })
                #unique #sparse #ttl #name
            );
        }
    };
    for declared in &model.indexes {
        let unique_field = declared.keys.len() == 1
            && model
                .fields
                .iter()
                .any(|f| f.unique && f.stored == declared.keys[0].0);
        indexes.push(index(
            &declared.keys,
            declared.unique || unique_field,
            declared.sparse,
            declared.ttl,
            declared.name.as_ref(),
        ));
    }
    for field in model.fields.iter().filter(|f| f.unique) {
        let keys = vec![(field.stored.clone(), IndexKey::Asc)];
        if !model.indexes.iter().any(|i| i.keys == keys) {
            indexes.push(index(&keys, true, field.optional, None, None));
        }
    }
    if let Some(owner) = model.owner() {
        let covered = model
            .indexes
            .iter()
            .any(|i| i.keys.first().is_some_and(|(k, _)| *k == owner.stored))
            || owner.unique;
        if !covered {
            indexes.push(index(
                &[(owner.stored.clone(), IndexKey::Asc)],
                false,
                false,
                None,
                None,
            ));
        }
    }
    let indexes_body = match indexes.is_empty() {
        true => quote!(::std::vec::Vec::new()),
        false => quote! {
            let mut indexes = ::std::vec::Vec::new();
            #(#indexes)*
            indexes
        },
    };

    // owner()
    let owner_body = match model.owner() {
        Some(owner) => {
            let ident = &owner.ident;
            quote!(::core::option::Option::Some(self.#ident.object_id()))
        }
        None => quote!(::core::option::Option::None),
    };

    // create() / replace()
    let idents = field_idents(model);
    let owner_binding = model
        .owner()
        .map(|_| quote!(let __flagstone_owner = ctx.owner_id()?;));
    let created = model.fields.iter().map(created_value);
    let replaced = model.fields.iter().map(|f| {
        let ident = &f.ident;
        match f.role {
            Role::UpdatedAt => quote!(::core::clone::Clone::clone(&ctx.now)),
            Role::Plain if f.writable() => created_value(f),
            _ => quote!(current.#ident),
        }
    });
    let uses_input = model.fields.iter().any(Field::writable);
    let input_use = (!uses_input).then(|| quote!(let _ = input;));
    let ctx_use = (!timestamps).then(|| quote!(let _ = ctx;));

    // patch()
    let patches = model
        .fields
        .iter()
        .filter(|f| f.writable())
        .map(|f| {
            let (ident, stored) = (&f.ident, &f.stored);
            let set =
                quote!(__flagstone_set.insert(#stored, ::flagstone::__private::to_bson(&value)?););
            match (f.optional, f.required_rule) {
                (true, false) => quote! {
                    match patch.#ident {
                        ::flagstone::__private::Patch::Absent => {}
                        ::flagstone::__private::Patch::Null => {
                            __flagstone_unset.insert(#stored, "");
                        }
                        ::flagstone::__private::Patch::Value(value) => {
                            #set
                        }
                    }
                },
                // An optional field with `required`: absent and null both leave it alone.
                (true, true) => quote! {
                    if let ::core::option::Option::Some(value) = patch.#ident {
                        let value = ::core::option::Option::Some(value);
                        #set
                    }
                },
                (false, _) => quote! {
                    if let ::core::option::Option::Some(value) = patch.#ident {
                        #set
                    }
                },
            }
        })
        .collect::<Vec<_>>();
    let patch_body = match patches.is_empty() {
        true => quote! {
            let _ = patch;
            ::core::result::Result::Ok(::flagstone::bson::Document::new())
        },
        false => quote! {
            let mut __flagstone_set = ::flagstone::bson::Document::new();
            let mut __flagstone_unset = ::flagstone::bson::Document::new();
            #(#patches)*
            ::core::result::Result::Ok(::flagstone::__private::update(__flagstone_set, __flagstone_unset))
        },
    };

    // view()
    let shown: Vec<_> = model
        .fields
        .iter()
        .filter(|f| f.visible())
        .map(|f| &f.ident)
        .collect();
    let id = model
        .fields
        .iter()
        .find(|f| f.role == Role::Id)
        .map(|f| &f.ident);

    quote! {
        #[automatically_derived]
        impl #m::Model for #ident {
            const COLLECTION: &'static str = #collection;
            const NAME: &'static str = #name;
            const TIMESTAMPS: bool = #timestamps;

            type Create = #create;
            type Patch = #patch;
            type View = #view;

            fn fields() -> &'static [#m::FieldDef] {
                static FIELDS: [#m::FieldDef; #count] = [#(#defs),*];
                &FIELDS
            }

            fn indexes() -> ::std::vec::Vec<::flagstone::store::Index> {
                #indexes_body
            }

            fn id(&self) -> ::flagstone::Id<Self> {
                self.#id
            }

            fn owner(&self) -> ::core::option::Option<::flagstone::bson::oid::ObjectId> {
                #owner_body
            }

            fn create(input: #create, ctx: &#m::WriteContext) -> ::flagstone::Result<Self> {
                #owner_binding
                #input_use
                ::core::result::Result::Ok(Self { #(#idents: #created),* })
            }

            fn replace(
                current: Self,
                input: #create,
                ctx: &#m::WriteContext,
            ) -> ::flagstone::Result<Self> {
                #input_use
                #ctx_use
                ::core::result::Result::Ok(Self { #(#idents: #replaced),* })
            }

            fn patch(patch: #patch) -> ::flagstone::Result<::flagstone::bson::Document> {
                #patch_body
            }

            fn view(&self) -> #view {
                #view { #(#shown: ::core::clone::Clone::clone(&self.#shown)),* }
            }
        }
    }
}

fn listable_impl(model: &Model) -> TokenStream {
    let ident = &model.ident;
    let q = quote!(::flagstone::query);
    let fields = model
        .fields
        .iter()
        .filter(|f| f.filter || f.sort || f.select)
        .filter_map(|f| {
            let kind = field_kind(&f.scalar)?;
            let name = &f.stored;
            let array = f.array.then(|| quote!(.array()));
            let filter = f.filter.then(|| quote!(.filter()));
            let sort = f.sort.then(|| quote!(.sort()));
            let select = f.select.then(|| quote!(.select()));
            Some(quote!(.field(#q::ListField::new(#name, #kind) #array #filter #sort #select)))
        });
    quote! {
        #[automatically_derived]
        impl #q::Listable for #ident {
            fn list_spec() -> &'static #q::ListSpec {
                static SPEC: ::std::sync::LazyLock<#q::ListSpec> =
                    ::std::sync::LazyLock::new(|| #q::ListSpec::new() #(#fields)*);
                &SPEC
            }
        }
    }
}
