//! What the code of `#[derive(Model)]` calls at run time; reached through
//! `::flagstone::__private`, not a public API.

use bson::Document;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{FieldDef, FieldType, Reference, Visibility};

/// A field of a PATCH body whose model field is an `Option`: absent (leave it), `null`
/// (clear it) or a value (set it). Missing from the body, it is [`Patch::Absent`] (the
/// derive marks such fields `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not in the body: the stored value is left as it is.
    #[default]
    Absent,
    /// `null`: the stored value is removed.
    Null,
    /// A new value.
    Value(T),
}

impl<T> Patch<T> {
    /// The new value, if there is one (what validation rules check).
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Value(value) => Some(value),
            Self::Absent | Self::Null => None,
        }
    }

    /// Whether the body left the field out.
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    /// `null` is [`Patch::Null`], anything else a [`Patch::Value`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|value| match value {
            Some(value) => Self::Value(value),
            None => Self::Null,
        })
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    /// A value as itself; absent and `null` as `null`.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Value(value) => serializer.serialize_some(value),
            Self::Absent | Self::Null => serializer.serialize_none(),
        }
    }
}

/// Deserializes a body field that may be left out but, when given, must hold a value:
/// `null` is refused like any other value of the wrong type (the derive uses it with
/// `#[serde(default)]` for PATCH fields that cannot be cleared and fields with defaults).
pub fn present<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

pub use crate::store::to_bson;

/// The update document of a patch: `$set` and `$unset`, each only when not empty.
pub fn update(set: Document, unset: Document) -> Document {
    let mut update = Document::new();
    if !set.is_empty() {
        update.insert("$set", set);
    }
    if !unset.is_empty() {
        update.insert("$unset", unset);
    }
    update
}

impl FieldDef {
    /// The derive's [`FieldDef`]: [`FieldDef::new`] with every mark set (`lists` is
    /// `[filter, sort, select]`).
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __derived(
        name: &'static str,
        rust_name: &'static str,
        ty: FieldType,
        array: bool,
        optional: bool,
        visibility: Visibility,
        lists: [bool; 3],
        owner: bool,
        unique: bool,
        reference: Option<Reference>,
    ) -> Self {
        let [filter, sort, select] = lists;
        Self {
            name,
            rust_name,
            ty,
            array,
            optional,
            visibility,
            filter,
            sort,
            select,
            owner,
            unique,
            reference,
        }
    }
}

/// Building blocks of the schemas the derive writes by hand (so that the user's crate
/// needs no `utoipa` import).
#[cfg(feature = "openapi")]
pub mod schema {
    use utoipa::{
        PartialSchema, ToSchema,
        openapi::{
            RefOr,
            schema::{
                AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Ref, Schema,
                SchemaType, Type,
            },
        },
    };

    /// A schema as the document holds it.
    pub type Any = RefOr<Schema>;

    /// `T`'s schema, inline (scalars, ids, timestamps).
    pub fn inline<T: PartialSchema + ?Sized>() -> Any {
        T::schema()
    }

    /// A `$ref` to `T`'s component (nested structs).
    pub fn reference<T: ToSchema + ?Sized>() -> Any {
        RefOr::Ref(Ref::from_schema_name(T::name()))
    }

    /// Adds `T`'s component and the ones it refers to.
    pub fn collect<T: ToSchema + ?Sized>(schemas: &mut Vec<(String, Any)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }

    /// An array of `items`.
    pub fn array(items: Any) -> Any {
        ArrayBuilder::new().items(items).into()
    }

    /// `schema` or `null`: a type list for inline schemas, a `oneOf` around a `$ref`.
    pub fn nullable(schema: Any) -> Any {
        match schema {
            RefOr::T(Schema::Object(mut object)) => {
                add_null(&mut object.schema_type);
                RefOr::T(Schema::Object(object))
            }
            RefOr::T(Schema::Array(mut array)) => {
                add_null(&mut array.schema_type);
                RefOr::T(Schema::Array(array))
            }
            other => OneOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::Null))
                .item(other)
                .into(),
        }
    }

    fn add_null(schema_type: &mut SchemaType) {
        match schema_type {
            SchemaType::Type(one) if *one != Type::Null => {
                *schema_type = SchemaType::Array(vec![one.clone(), Type::Null]);
            }
            SchemaType::Array(types) if !types.contains(&Type::Null) => types.push(Type::Null),
            _ => {}
        }
    }

    /// One property of an object schema.
    #[allow(missing_debug_implementations)]
    pub struct Property {
        /// The JSON name.
        pub name: &'static str,
        /// Its schema.
        pub schema: Any,
        /// Whether the object must have it.
        pub required: bool,
        /// The field's doc comment.
        pub description: Option<&'static str>,
    }

    /// An object schema with `properties`, in order, refusing any other property when
    /// `closed`.
    pub fn object(
        description: Option<&'static str>,
        closed: bool,
        properties: Vec<Property>,
    ) -> Any {
        let mut builder = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(description);
        for property in properties {
            let schema = match (property.description, property.schema) {
                (Some(text), RefOr::T(Schema::Object(mut object))) => {
                    object.description = Some(text.to_owned());
                    RefOr::T(Schema::Object(object))
                }
                (Some(text), RefOr::T(Schema::Array(mut array))) => {
                    array.description = Some(text.to_owned());
                    RefOr::T(Schema::Array(array))
                }
                (Some(text), RefOr::Ref(mut reference)) => {
                    reference.description = text.to_owned();
                    RefOr::Ref(reference)
                }
                (_, schema) => schema,
            };
            builder = builder.property(property.name, schema);
            if property.required {
                builder = builder.required(property.name);
            }
        }
        if closed {
            builder = builder.additional_properties(Some(AdditionalProperties::FreeForm(false)));
        }
        builder.into()
    }
}

#[cfg(test)]
mod tests {
    use bson::Bson;

    use super::*;

    #[test]
    fn patch_fields_tell_absent_from_null() {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            a: Patch<String>,
            #[serde(default)]
            b: Patch<String>,
            #[serde(default)]
            c: Patch<String>,
        }
        let body: Body = serde_json::from_str(r#"{"b": null, "c": "x"}"#).unwrap();
        assert_eq!(body.a, Patch::Absent);
        assert!(body.a.is_absent());
        assert_eq!(body.b, Patch::Null);
        assert_eq!(body.c, Patch::Value("x".to_owned()));
        assert_eq!(body.c.value().map(String::as_str), Some("x"));
    }

    #[test]
    fn values_become_bson_as_stored() {
        let id = crate::Id::<()>::new();
        assert_eq!(to_bson(&id).unwrap(), Bson::ObjectId(id.object_id()));
        let now = crate::store::Timestamp::now();
        assert!(matches!(to_bson(&now).unwrap(), Bson::DateTime(_)));
        assert_eq!(to_bson("x").unwrap(), Bson::String("x".into()));
        assert_eq!(
            update(bson::doc! { "a": 1 }, Document::new()),
            bson::doc! { "$set": { "a": 1 } }
        );
        assert_eq!(update(Document::new(), Document::new()), Document::new());
    }
}
