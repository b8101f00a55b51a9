//! The derives work whatever the call site imports, or shadows: no `use` at all here, and
//! local items named like the ones generated code could reach for.
#![allow(dead_code, non_camel_case_types, clippy::unwrap_used)]

/// Shadows `Result`.
type Result<T> = core::result::Result<T, Error>;
/// Shadows `Error`.
struct Error;
/// Shadows the crates generated code must not name without a leading `::flagstone`.
mod serde {}
mod utoipa {}
mod bson {}
mod flagstone_macros {}
/// Shadows `Default` and `Vec` in the type namespace only where harmless.
struct Model;
struct Resource;

/// A model declared with fully qualified paths only.
#[derive(::flagstone::Model, ::flagstone::Resource)]
#[model(timestamps)]
#[resource(path = "/things", default = authenticated, list = public)]
pub struct Thing {
    /// The id.
    pub id: ::flagstone::Id<Thing>,
    /// A name.
    #[field(len(min = 1, max = 20), filter)]
    pub name: ::std::string::String,
    /// A count.
    #[field(range(min = 0))]
    pub count: i64,
    /// A note.
    pub note: ::core::option::Option<::std::string::String>,
    /// Created.
    pub created_at: ::flagstone::store::Timestamp,
    /// Updated.
    pub updated_at: ::flagstone::store::Timestamp,
}

#[test]
fn the_generated_items_work_without_imports() {
    let input: ThingCreate =
        ::serde_json::from_value(::serde_json::json!({ "name": "a", "count": 1, "note": null }))
            .unwrap();
    <ThingCreate as ::flagstone::validation::Validate>::validate(&input).unwrap();
    let thing = <Thing as ::flagstone::model::Model>::create(
        input,
        &::flagstone::model::WriteContext::new(None),
    )
    .unwrap();
    let view: ThingView = <Thing as ::flagstone::model::Model>::view(&thing);
    assert_eq!(::serde_json::to_value(&view).unwrap()["name"], "a");
    assert_eq!(<Thing as ::flagstone::model::Model>::COLLECTION, "things");
    assert_eq!(<Thing as ::flagstone::resource::Resource>::PATH, "/things");
    let _ = (Result::<()>::Ok(()), Model, Resource);
}
