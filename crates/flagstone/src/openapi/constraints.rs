//! The rules of `#[derive(Validate)]`, stated in the schema `#[derive(ToSchema)]` wrote.
//!
//! The derive registers each non-generic struct's [`Validate::constraints`] together with
//! a way to ask for its schema name ([`utoipa::ToSchema::name`], when the type has one),
//! so the document builder finds the component of the same name and patches it: nothing
//! to list by hand, nothing to forget.

use std::{borrow::Cow, collections::BTreeMap, marker::PhantomData};

use serde_json::Value;
use utoipa::openapi::{
    Components, RefOr,
    schema::{Array, ArrayItems, Object, Schema, SchemaFormat, SchemaType, Type},
};

use crate::validation::{Constraint, Validate};

/// What `#[derive(Validate)]` registers for a non-generic struct. Not a public API.
#[doc(hidden)]
pub struct Registration {
    schema: fn() -> Option<NamedSchema>,
    constraints: fn() -> Vec<Constraint>,
}

/// A type's schema name and schema, when it implements `ToSchema`.
type NamedSchema = (Cow<'static, str>, RefOr<Schema>);

impl Registration {
    /// A struct's schema (when it implements `ToSchema`) and its constraints.
    pub const fn new(
        schema: fn() -> Option<NamedSchema>,
        constraints: fn() -> Vec<Constraint>,
    ) -> Self {
        Self {
            schema,
            constraints,
        }
    }
}

inventory::collect!(Registration);

/// Asks for a type's schema without requiring it to have one: `(&&Probe::<T>::new())
/// .named_schema()` picks [`WithSchema`] when `T: ToSchema` and [`WithoutSchema`]
/// otherwise (method resolution tries `&&Probe` before `&Probe`).
#[doc(hidden)]
pub struct Probe<T>(PhantomData<T>);

impl<T> Probe<T> {
    /// The probe.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

/// The schema of a `ToSchema` type.
#[doc(hidden)]
pub trait WithSchema {
    /// `Some((T::name(), T::schema()))`.
    fn named_schema(&self) -> Option<NamedSchema>;
}

impl<T: utoipa::ToSchema> WithSchema for &Probe<T> {
    fn named_schema(&self) -> Option<NamedSchema> {
        Some((T::name(), T::schema()))
    }
}

/// The fallback for types without a schema.
#[doc(hidden)]
pub trait WithoutSchema {
    /// `None`.
    fn named_schema(&self) -> Option<NamedSchema>;
}

impl<T> WithoutSchema for Probe<T> {
    fn named_schema(&self) -> Option<NamedSchema> {
        None
    }
}

/// `schema` with `T`'s validation rules stated in it: `minLength`/`maxLength` (or
/// `minItems`/`maxItems`), `minimum`/`maximum`, `pattern`, `format`, `enum`, the `items`
/// of `each(...)` and the `required` list. The document builder does this by itself for
/// every struct deriving both `Validate` and `ToSchema`; this is for schemas written by
/// hand.
///
/// ```
/// use flagstone::{openapi::apply_constraints, prelude::*, utoipa::PartialSchema};
///
/// #[derive(serde::Deserialize, Validate, ToSchema)]
/// struct NewTag {
///     #[validate(len(min = 1, max = 20))]
///     name: String,
/// }
///
/// let schema = apply_constraints::<NewTag>(NewTag::schema());
/// let json = serde_json::to_value(&schema).unwrap();
/// assert_eq!(json["properties"]["name"]["maxLength"], 20);
/// ```
pub fn apply_constraints<T: Validate>(schema: RefOr<Schema>) -> RefOr<Schema> {
    let mut schema = schema;
    if let RefOr::T(schema) = &mut schema {
        patch(schema, &T::constraints());
    }
    schema
}

/// Patches every component schema that a registered `Validate` type names. When types of
/// the same name differ, the one whose schema is the component's wins; when even that
/// leaves several, the component is left alone, with a warning.
pub(crate) fn apply_registered(components: &mut Components) {
    let mut by_name: BTreeMap<Cow<'static, str>, Vec<(RefOr<Schema>, &Registration)>> =
        BTreeMap::new();
    for registration in inventory::iter::<Registration> {
        if let Some((name, schema)) = (registration.schema)() {
            by_name
                .entry(name)
                .or_default()
                .push((schema, registration));
        }
    }
    for (name, mut candidates) in by_name {
        let Some(component) = components.schemas.get_mut(name.as_ref()) else {
            continue;
        };
        if candidates.len() > 1 {
            candidates.retain(|(schema, _)| schema == component);
        }
        match (candidates.as_slice(), component) {
            ([(_, one)], RefOr::T(schema)) => patch(schema, &(one.constraints)()),
            ([], _) | (_, RefOr::Ref(_)) => {}
            _ => tracing::warn!(
                schema = %name,
                "several Validate types share this schema name and schema; its constraints \
                 are left out (rename one with #[schema(as = ...)])"
            ),
        }
    }
}

/// States `constraints` in an object schema (or the inline parts of an `allOf`, as a
/// flattened field produces).
fn patch(schema: &mut Schema, constraints: &[Constraint]) {
    match schema {
        Schema::Object(object) => patch_object(object, constraints),
        Schema::AllOf(all) => {
            for item in &mut all.items {
                if let RefOr::T(schema) = item {
                    patch(schema, constraints);
                }
            }
        }
        _ => {}
    }
}

fn patch_object(object: &mut Object, constraints: &[Constraint]) {
    for constraint in constraints {
        let Some(property) = object.properties.get_mut(constraint.field) else {
            continue;
        };
        patch_value(property, constraint);
        let listed = object.required.iter().any(|r| r == constraint.field);
        match (constraint.required, listed) {
            (true, false) => object.required.push(constraint.field.to_owned()),
            (false, true) => object.required.retain(|r| r != constraint.field),
            _ => {}
        }
    }
}

/// One value's constraints. A `$ref` is left alone: the rules of the field do not belong
/// in the shared component.
fn patch_value(schema: &mut RefOr<Schema>, constraint: &Constraint) {
    let RefOr::T(schema) = schema else {
        return;
    };
    match schema {
        Schema::Object(object) => patch_scalar(object, constraint),
        Schema::Array(array) => patch_array(array, constraint),
        // `Option<T>` of a composite `T`: `oneOf: [{type: null}, T]`.
        Schema::OneOf(one_of) => {
            if constraint.required {
                one_of.items.retain(|item| !is_null(item));
            }
            for item in &mut one_of.items {
                if !is_null(item) {
                    patch_value(item, constraint);
                }
            }
        }
        _ => {}
    }
}

fn patch_scalar(object: &mut Object, c: &Constraint) {
    // `required` on an `Option` refuses `null` too.
    if c.required {
        drop_null(&mut object.schema_type);
    }
    if !c.counts_items {
        object.min_length = c.min_length.map(to_usize).or(object.min_length);
        object.max_length = c.max_length.map(to_usize).or(object.max_length);
    }
    if let Some(minimum) = c.minimum {
        object.minimum = Some(number(minimum));
    }
    if let Some(maximum) = c.maximum {
        object.maximum = Some(number(maximum));
    }
    if let Some(pattern) = c.pattern {
        object.pattern = Some(pattern.to_owned());
    }
    if let Some(format) = c.format {
        object.format = Some(SchemaFormat::Custom(format.to_owned()));
    }
    if let Some(values) = c.one_of {
        let mut values: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
        // `enum` is checked on its own: a nullable field needs `null` in the list.
        if has_type(&object.schema_type, Type::Null) {
            values.push(Value::Null);
        }
        object.enum_values = Some(values);
    }
}

fn patch_array(array: &mut Array, c: &Constraint) {
    if c.required {
        drop_null(&mut array.schema_type);
    }
    array.min_items = c.min_length.map(to_usize).or(array.min_items);
    array.max_items = c.max_length.map(to_usize).or(array.max_items);
    if let (Some(items), ArrayItems::RefOrSchema(schema)) = (&c.items, &mut array.items) {
        patch_value(schema, items);
    }
}

fn has_type(schema_type: &SchemaType, ty: Type) -> bool {
    match schema_type {
        SchemaType::Type(one) => *one == ty,
        SchemaType::Array(types) => types.contains(&ty),
        SchemaType::AnyValue => false,
    }
}

fn drop_null(schema_type: &mut SchemaType) {
    if let SchemaType::Array(types) = schema_type {
        types.retain(|t| *t != Type::Null);
        if let [only] = types.as_slice() {
            *schema_type = SchemaType::Type(only.clone());
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Whole numbers as integers (`3`, not `3.0`).
fn number(n: f64) -> utoipa::Number {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        utoipa::Number::Int(n as isize)
    } else {
        utoipa::Number::Float(n)
    }
}
