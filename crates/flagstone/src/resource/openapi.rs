//! The OpenAPI operations of a resource, built by hand: generic handlers cannot carry
//! `#[utoipa::path]`.

use serde_json::json;
use utoipa::{
    ToSchema,
    openapi::{
        Content, OpenApi, PathItem, Ref, RefOr, Required, ResponseBuilder,
        header::HeaderBuilder,
        path::{HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn},
        request_body::RequestBodyBuilder,
        schema::{ArrayBuilder, ObjectBuilder, Schema, Type},
        security::SecurityRequirement,
    },
};

use super::{Operation, Resource};
use crate::{
    auth::Access,
    error::PROBLEM_JSON,
    model::Model,
    pagination::PageMeta,
    query::{FieldKind, Listable},
};

/// The OpenAPI operations of `T`'s enabled routes, paths relative to the API prefix, and
/// the schemas they reference (`T::Create`, `T::Patch`, `T::View` and `Page_<View>`).
///
/// | route | operation id | answers |
/// | --- | --- | --- |
/// | `GET /posts` | `list_posts` | 200 `Page_PostView` (the document adds the pagination parameters) |
/// | `GET /posts/{id}` | `get_post` | 200 `PostView` with `ETag`, 304 |
/// | `POST /posts` | `create_post` | 201 `PostView` with `Location`, 409 |
/// | `PUT /posts/{id}` | `replace_post` | 200 `PostView`, 409, 412 |
/// | `PATCH /posts/{id}` | `patch_post` | 200 `PostView`, 409, 412 |
/// | `DELETE /posts/{id}` | `delete_post` | 204, 412 |
///
/// Operations whose rule is not `public` require the `bearer` or `cookie` scheme.
pub fn operations<T: Resource>() -> OpenApi {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    fn collect<S: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> String {
        S::schemas(schemas);
        let name = S::name().into_owned();
        schemas.push((name.clone(), S::schema()));
        name
    }
    let view = collect::<T::View>(&mut schemas);
    let view_schema = schemas
        .iter()
        .rev()
        .find(|(n, _)| *n == view)
        .map(|(_, s)| s.clone());

    let path = T::PATH.trim_end_matches('/').to_owned();
    let item_path = format!("{path}/{{id}}");
    let plural = path.trim_start_matches('/').replace(['/', '-'], "_");
    let singular = snake_case(T::NAME);
    let expandable: Vec<&str> = T::fields()
        .iter()
        .filter(|f| {
            f.reference.is_some()
                && matches!(
                    f.visibility,
                    crate::model::Visibility::Normal | crate::model::Visibility::ReadOnly
                )
        })
        .map(|f| f.name)
        .collect();
    let selectable = <T as Listable>::list_spec()
        .fields()
        .iter()
        .any(|f| f.select);
    // What `?fields=` and `?expand=` make of a view: the list may leave out unselected
    // fields, and both may replace references by objects.
    let mut shaped = |suffix: &str, partial: bool| -> String {
        match (&view_schema, partial || !expandable.is_empty()) {
            (Some(schema), true) => {
                let name = format!("{view}{suffix}");
                schemas.push((name.clone(), reshape(schema, partial, &expandable)));
                name
            }
            _ => view.clone(),
        }
    };
    let list_item = shaped("Selected", selectable);
    let get_answer = shaped("Expanded", false);
    let page = format!("Page_{list_item}");
    schemas.push((page.clone(), page_schema(&list_item)));

    let mut doc = OpenApi::default();
    let mut add = |path: &str, method: HttpMethod, operation: utoipa::openapi::path::Operation| {
        let item = PathItem::new(method, operation);
        match doc.paths.paths.get_mut(path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                doc.paths.paths.insert(path.to_owned(), item);
            }
        }
    };
    let base = |access: &Access, id: String, summary: String| {
        let mut op = OperationBuilder::new()
            .tag(T::TAG)
            .operation_id(Some(id))
            .summary(Some(summary));
        if access.requires_user() {
            op = op.securities(Some([
                SecurityRequirement::new(crate::openapi::BEARER, Vec::<String>::new()),
                SecurityRequirement::new(crate::openapi::COOKIE, Vec::<String>::new()),
            ]));
        }
        op
    };
    let name = T::NAME;

    if let Some(access) = T::access(Operation::List) {
        let mut op = base(
            &access,
            format!("list_{plural}"),
            format!("List {name} items"),
        )
        .response(
            "200",
            json_response(&page, "One page of items; `Link` has the neighbours"),
        );
        for parameter in filter_parameters::<T>() {
            op = op.parameter(parameter);
        }
        if !expandable.is_empty() {
            op = op.parameter(expand_parameter(&expandable));
        }
        add(&path, HttpMethod::Get, op.build());
    }
    if let Some(access) = T::access(Operation::Create) {
        let create = collect::<T::Create>(&mut schemas);
        let mut op = base(
            &access,
            format!("create_{singular}"),
            format!("Create a {name}"),
        )
        .request_body(Some(json_body(&create)))
        .response(
            "201",
            ResponseBuilder::new()
                .description(format!("The new {name}"))
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name(&view))),
                )
                .header("Location", string_header("The URL of the new item"))
                .header("ETag", string_header("The item's version, for If-Match"))
                .build(),
        )
        .response("409", problem("A unique field already holds this value"));
        // A hook may refuse a body whose references name nothing.
        if T::fields().iter().any(|f| f.reference.is_some()) {
            op = op.response("404", problem("A referenced item does not exist"));
        }
        add(&path, HttpMethod::Post, op.build());
    }
    if let Some(access) = T::access(Operation::Get) {
        let mut op = base(&access, format!("get_{singular}"), format!("Get a {name}"))
            .parameter(id_parameter())
            .parameter(header_parameter(
                "If-None-Match",
                "An ETag from an earlier answer: 304 when it is still current",
            ))
            .response(
                "200",
                ResponseBuilder::new()
                    .description(format!("The {name}"))
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name(&get_answer))),
                    )
                    .header(
                        "ETag",
                        string_header("The item's version, for If-None-Match and If-Match"),
                    )
                    .build(),
            )
            .response(
                "304",
                ResponseBuilder::new()
                    .description("Not modified: the ETag of If-None-Match is current")
                    .header("ETag", string_header("The item's version"))
                    .build(),
            );
        if !expandable.is_empty() {
            op = op.parameter(expand_parameter(&expandable));
        }
        add(&item_path, HttpMethod::Get, op.build());
    }
    if let Some(access) = T::access(Operation::Update) {
        let create = collect::<T::Create>(&mut schemas);
        let patch = collect::<T::Patch>(&mut schemas);
        for (method, id, summary, body) in [
            (
                HttpMethod::Put,
                format!("replace_{singular}"),
                format!("Replace a {name}'s writable fields"),
                &create,
            ),
            (
                HttpMethod::Patch,
                format!("patch_{singular}"),
                format!("Change some of a {name}'s fields"),
                &patch,
            ),
        ] {
            let op = base(&access, id, summary)
                .parameter(id_parameter())
                .parameter(if_match())
                .request_body(Some(json_body(body)))
                .response("200", json_response(&view, &format!("The changed {name}")))
                .response("409", problem("A unique field already holds this value"))
                .response(
                    "412",
                    problem("The item changed since the version If-Match names"),
                );
            add(&item_path, method, op.build());
        }
    }
    if let Some(access) = T::access(Operation::Delete) {
        let op = base(
            &access,
            format!("delete_{singular}"),
            format!("Delete a {name}"),
        )
        .parameter(id_parameter())
        .parameter(if_match())
        .response("204", ResponseBuilder::new().description("Deleted").build())
        .response(
            "412",
            problem("The item changed since the version If-Match names"),
        );
        add(&item_path, HttpMethod::Delete, op.build());
    }

    let mut unique: Vec<(String, RefOr<Schema>)> = Vec::with_capacity(schemas.len());
    for (name, schema) in schemas {
        if !unique.iter().any(|(n, _)| *n == name) {
            unique.push((name, schema));
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.extend(unique);
    doc
}

/// `view` as `?fields=` (`partial`: only `id` is sure to be there) and `?expand=` (each
/// field of `expandable` may also hold the referenced object, or null when it is gone)
/// can shape it.
fn reshape(view: &RefOr<Schema>, partial: bool, expandable: &[&str]) -> RefOr<Schema> {
    let Ok(mut value) = serde_json::to_value(view) else {
        return view.clone();
    };
    if let Some(object) = value.as_object_mut() {
        if partial {
            object.insert("required".to_owned(), json!(["id"]));
        }
        if let Some(properties) = object.get_mut("properties").and_then(|p| p.as_object_mut()) {
            for name in expandable {
                let Some(property) = properties.get_mut(*name) else {
                    continue;
                };
                let is_array = property.get("type").is_some_and(|t| {
                    t == "array" || t.as_array().is_some_and(|a| a.contains(&json!("array")))
                });
                let loaded = json!({
                    "type": ["object", "null"],
                    "description": "The referenced object, with `?expand=`; null when it is gone."
                });
                let expanded = match is_array {
                    true => json!({"type": "array", "items": loaded}),
                    false => loaded,
                };
                *property = json!({"anyOf": [property.take(), expanded]});
            }
        }
    }
    serde_json::from_value(value).unwrap_or_else(|_| view.clone())
}

/// `BlogPost` → `blog_post`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `{items: [View], meta: PageMeta}`, as `Page<View>` serializes; its `meta` reference is
/// what the document recognises to add the pagination parameters.
fn page_schema(view: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("One page of items, and where it is."))
        .property(
            "items",
            ArrayBuilder::new()
                .items(Ref::from_schema_name(view))
                .description(Some("The items.")),
        )
        .required("items")
        .property("meta", Ref::from_schema_name(PageMeta::name()))
        .required("meta")
        .into()
}

fn json_response(schema: &str, description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name(schema))),
        )
        .build()
        .into()
}

fn json_body(schema: &str) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name(schema))),
        )
        .required(Some(Required::True))
        .build()
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
        .into()
}

fn string_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .build()
}

fn id_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some("The item's id."))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9a-fA-F]{24}$")),
        ))
        .build()
}

fn header_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

fn if_match() -> Parameter {
    header_parameter(
        "If-Match",
        "The ETag of the version this change is based on: 412 when the item changed since",
    )
}

fn expand_parameter(expandable: &[&str]) -> Parameter {
    ParameterBuilder::new()
        .name("expand")
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(format!(
            "References to replace by the objects they name, comma-separated: {}. A missing \
             object becomes null.",
            expandable.join(", ")
        )))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .example(Some(json!(expandable.join(","))))
        .build()
}

/// One query parameter per filterable field, with its operators.
fn filter_parameters<T: Model>() -> Vec<Parameter> {
    <T as Listable>::list_spec()
        .fields()
        .iter()
        .filter(|f| f.filter)
        .map(|f| {
            let (ty, operators) = match (f.kind, f.array) {
                (FieldKind::String, false) => (Type::String, "eq, ne, in, nin, prefix, contains"),
                (FieldKind::String | FieldKind::Id, true) => (Type::String, "eq, ne, in, nin, all"),
                (FieldKind::Id, false) => (Type::String, "eq, ne, in, nin"),
                (FieldKind::Integer, _) => (Type::Integer, "eq, ne, gt, gte, lt, lte, in, nin"),
                (FieldKind::Number, _) => (Type::Number, "eq, ne, gt, gte, lt, lte, in, nin"),
                (FieldKind::DateTime, _) => (Type::String, "eq, ne, gt, gte, lt, lte, in, nin"),
                (FieldKind::Boolean, _) => (Type::Boolean, "eq, ne"),
            };
            ParameterBuilder::new()
                .name(f.name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(format!(
                    "Filter: `{name}=value` (equals) or `{name}[op]=value` with op one of {operators}; \
                     `in`, `nin` and `all` take comma-separated lists.",
                    name = f.name
                )))
                .schema(Some(ObjectBuilder::new().schema_type(ty)))
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_snake_case() {
        assert_eq!(snake_case("Post"), "post");
        assert_eq!(snake_case("BlogPost"), "blog_post");
    }
}
