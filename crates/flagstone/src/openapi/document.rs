//! Assembles the document: the app's documented routes under the API prefix, plus what
//! Flagstone guarantees about every operation.

use http::StatusCode;
use serde_json::json;
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        Components, Content, Info, OpenApi, OpenApiVersion, Paths, Ref, RefOr, Required, Response,
        ResponseBuilder,
        header::HeaderBuilder,
        path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem},
        schema::{ArrayBuilder, ArrayItems, ObjectBuilder, Schema, SchemaFormat, Type},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::constraints;
use crate::{Config, error::ProblemRenderer, pagination::PageMeta};

/// The security scheme of a bearer access token: `security(("bearer" = []))`.
pub const BEARER: &str = "bearer";
/// The security scheme of the `access_token` cookie: `security(("cookie" = []))`.
pub const COOKIE: &str = "cookie";
/// The pagination parameters, reusable as `#/components/parameters/<name>`.
pub const PAGINATION_PARAMETERS: [&str; 6] =
    ["limit", "offset", "cursor", "sort", "fields", "total"];

/// The complete document of `collected` (paths relative to the API prefix) under `config`.
pub(crate) fn build(
    config: &Config,
    collected: OpenApi,
    renderer: &dyn ProblemRenderer,
) -> OpenApi {
    let mut doc = collected;
    doc.openapi = OpenApiVersion::Version31;
    doc.info = Info::builder()
        .title(config.openapi.title.clone())
        .version(config.openapi.version.clone())
        .description(config.openapi.description.clone())
        .build();

    let prefix = config.api.prefix.as_str();
    let mut paths = Paths::new();
    paths.extensions = doc.paths.extensions.take();
    for (path, item) in std::mem::take(&mut doc.paths.paths) {
        paths.paths.insert(prefixed(prefix, &path), item);
    }
    doc.paths = paths;

    let components = doc.components.get_or_insert_with(Components::new);
    add_components(components, config, renderer);
    reference_page_items(components);
    constraints::apply_registered(components);

    let components = doc.components.clone().unwrap_or_default();
    let global_security = doc.security.clone();
    for (path, item) in &mut doc.paths.paths {
        // Any write may meet a unique index or a state it conflicts with: the store
        // answers a duplicate key with 409, and so may a service.
        for operation in [
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            operation
                .responses
                .responses
                .entry("409".to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Conflict")));
        }
        for operation in operations(item) {
            let security = operation.security.as_ref().or(global_security.as_ref());
            let secured = security.is_some_and(|requirements| {
                requirements.iter().any(|requirement| {
                    serde_json::to_value(requirement)
                        .is_ok_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
                })
            });
            add_standard_responses(path, operation, secured, config.api.validation_status);
            add_error_bodies(operation, renderer.content_type());
            if returns_page(operation, &components) {
                add_pagination_parameters(operation);
            }
        }
    }
    doc
}

/// `prefix` + `path`, as `Router::nest` joins them.
fn prefixed(prefix: &str, path: &str) -> String {
    match (prefix, path) {
        ("", "") => "/".to_owned(),
        (_, "" | "/") if !prefix.is_empty() => prefix.to_owned(),
        _ => format!("{prefix}{path}"),
    }
}

/// Every operation of a path item.
pub(crate) fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
        &mut item.query,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
    .chain(item.additional_operations.values_mut())
}

fn add_components(components: &mut Components, config: &Config, renderer: &dyn ProblemRenderer) {
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("An access token in `Authorization: Bearer <token>`."))
                .build(),
        ),
    );
    let mut cookie = ApiKeyValue::new(config.auth.access_cookie.as_str());
    cookie.description = Some("The access token in an HTTP-only cookie.".to_owned());
    components.add_security_scheme(COOKIE, SecurityScheme::ApiKey(ApiKey::Cookie(cookie)));

    let schemas = &mut components.schemas;
    schemas.insert(
        "Problem".to_owned(),
        renderer.schema().unwrap_or_else(problem_schema),
    );
    schemas.insert("FieldError".to_owned(), field_error_schema());
    schemas.insert(PageMeta::name().into_owned(), PageMeta::schema());

    let validation = match config.api.validation_status {
        StatusCode::UNPROCESSABLE_ENTITY => "The request is malformed.",
        _ => "The request is malformed, or fields failed validation (`errors` lists them).",
    };
    let responses = [
        ("BadRequest", validation),
        (
            "UnprocessableEntity",
            "The body has the wrong shape (an unknown field, a wrong type), or fields failed \
             validation with `api.validation_status = 422` (`errors` lists them).",
        ),
        ("Unauthorized", "No credentials, or invalid ones."),
        ("Forbidden", "Authenticated, but not allowed."),
        ("NotFound", "No such resource."),
        (
            "Conflict",
            "The change conflicts with the current state, such as a unique field that \
             already holds the value.",
        ),
        (
            "UnsupportedMediaType",
            "The body is not in a media type the operation accepts (`Content-Type`).",
        ),
        (
            "TooManyRequests",
            "A rate limit was exceeded; `Retry-After` says when to try again.",
        ),
        (
            "InternalError",
            "An unexpected failure: logged with the request id, never detailed here.",
        ),
    ];
    for (name, description) in responses {
        let mut response = ResponseBuilder::new().description(description).content(
            renderer.content_type(),
            Content::new(Some(Ref::from_schema_name("Problem"))),
        );
        if name == "TooManyRequests" {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0)),
                    ))
                    .description(Some("Seconds to wait before trying again."))
                    .build(),
            );
        }
        components
            .responses
            .insert(name.to_owned(), RefOr::T(response.build()));
    }

    for name in PAGINATION_PARAMETERS {
        components
            .parameters
            .insert(name.to_owned(), RefOr::T(pagination_parameter(name)));
    }
}

/// utoipa inlines the item schema of a generic `Page<T>`; when `T` is a component of its
/// own, point at it instead.
fn reference_page_items(components: &mut Components) {
    let pages: Vec<String> = components
        .schemas
        .keys()
        .filter(|name| name.starts_with("Page_"))
        .cloned()
        .collect();
    for page in pages {
        let item = &page["Page_".len()..];
        let Some(RefOr::T(item_schema)) = components.schemas.get(item).cloned() else {
            continue;
        };
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&page) else {
            continue;
        };
        if let Some(RefOr::T(Schema::Array(array))) = object.properties.get_mut("items")
            && let ArrayItems::RefOrSchema(inner) = &mut array.items
            && **inner == RefOr::T(item_schema)
        {
            **inner = RefOr::Ref(Ref::from_schema_name(item));
        }
    }
}

/// The problem document, as `JsonProblemRenderer` writes it.
fn problem_schema() -> RefOr<Schema> {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "An RFC 9457 problem (`application/problem+json`); 5xx problems never carry \
             a `detail`.",
        ))
        .property(
            "type",
            string()
                .format(Some(SchemaFormat::Custom("uri-reference".to_owned())))
                .description(Some("Always `about:blank`: `code` says what went wrong."))
                .examples([json!("about:blank")]),
        )
        .required("type")
        .property(
            "title",
            string()
                .description(Some("The status's reason phrase."))
                .examples([json!("Not Found")]),
        )
        .required("title")
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(400))
                .maximum(Some(599))
                .description(Some("The HTTP status.")),
        )
        .required("status")
        .property(
            "detail",
            string().description(Some("What went wrong, for people.")),
        )
        .property(
            "instance",
            string()
                .description(Some("The request path."))
                .examples([json!("/api/v1/posts/42")]),
        )
        .property(
            "request_id",
            string().description(Some("The request id, also in the `x-request-id` header.")),
        )
        .property(
            "code",
            string()
                .description(Some(
                    "A stable machine code: `bad_request`, `validation_failed`, `unauthorized`, \
                     `forbidden`, `not_found`, `conflict`, `rate_limited`, `internal`, ...",
                ))
                .examples([json!("not_found")]),
        )
        .required("code")
        .property(
            "errors",
            ArrayBuilder::new()
                .items(Ref::from_schema_name("FieldError"))
                .description(Some("The invalid fields of a validation failure.")),
        )
        .into()
}

fn field_error_schema() -> RefOr<Schema> {
    let string = |description: &str, example: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .examples([json!(example)])
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("One invalid field of a validation failure."))
        .property(
            "field",
            string("The field's path, as JSON names it.", "items[2].qty"),
        )
        .required("field")
        .property("code", string("A stable machine code.", "length"))
        .required("code")
        .property(
            "message",
            string("What is wrong, for people.", "must be 3 to 120 characters"),
        )
        .required("message")
        .into()
}

fn pagination_parameter(name: &str) -> Parameter {
    let (description, schema) = match name {
        "limit" => (
            "Items per page: 20 by default, at most 100 unless the operation says otherwise.",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        ),
        "offset" => (
            "Offset pages: how many matching items come before the page.",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ),
        "cursor" => (
            "Cursor pages: the previous page's `meta.next_cursor`; empty for the first page.",
            ObjectBuilder::new().schema_type(Type::String),
        ),
        "sort" => (
            "Sort keys, comma-separated; `-` sorts a key descending: `-created_at,title`.",
            ObjectBuilder::new().schema_type(Type::String),
        ),
        "fields" => (
            "Only these fields (comma-separated), and `_id`.",
            ObjectBuilder::new().schema_type(Type::String),
        ),
        _ => (
            "`false` skips counting the matches: `meta.total` is left out.",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .default(Some(json!(true))),
        ),
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// Adds the problem responses `operation` does not declare itself.
/// `secured`: the operation (or the document) requires credentials.
fn add_standard_responses(
    path: &str,
    operation: &mut Operation,
    secured: bool,
    validation: StatusCode,
) {
    let mut standard = vec![("400", "BadRequest")];
    if operation.request_body.is_some() || validation == StatusCode::UNPROCESSABLE_ENTITY {
        standard.push(("422", "UnprocessableEntity"));
    }
    if operation.request_body.is_some() {
        standard.push(("415", "UnsupportedMediaType"));
    }
    if secured {
        standard.extend([("401", "Unauthorized"), ("403", "Forbidden")]);
    }
    if path.contains('{') {
        standard.push(("404", "NotFound"));
    }
    standard.extend([("429", "TooManyRequests"), ("500", "InternalError")]);
    let responses = &mut operation.responses.responses;
    for (status, name) in standard {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

/// Gives an error response the operation declares with a description only
/// (`(status = 401, description = "wrong password")`) the error body: the renderer's
/// media type and the `Problem` schema.
fn add_error_bodies(operation: &mut Operation, content_type: &str) {
    for (status, response) in &mut operation.responses.responses {
        if let RefOr::T(response) = response
            && response.content.is_empty()
            && (status.starts_with('4') || status.starts_with('5'))
        {
            response.content.insert(
                content_type.to_owned(),
                RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
            );
        }
    }
}

/// Whether a success response of `operation` is a [`Page`](crate::pagination::Page): an
/// object whose `meta` is `PageMeta`.
fn returns_page(operation: &Operation, components: &Components) -> bool {
    let meta = Ref::from_schema_name(PageMeta::name()).ref_location;
    let resolve = |schema: &RefOr<Schema>| -> Option<Schema> {
        match schema {
            RefOr::T(schema) => Some(schema.clone()),
            RefOr::Ref(r) => {
                let name = r.ref_location.strip_prefix("#/components/schemas/")?;
                match components.schemas.get(name)? {
                    RefOr::T(schema) => Some(schema.clone()),
                    RefOr::Ref(_) => None,
                }
            }
        }
    };
    operation
        .responses
        .responses
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .filter_map(|(_, response)| match response {
            RefOr::T(response) => Some(response),
            RefOr::Ref(_) => None,
        })
        .flat_map(|response: &Response| response.content.values())
        .filter_map(|content| match content {
            RefOr::T(content) => content.schema.as_ref(),
            RefOr::Ref(_) => None,
        })
        .any(|schema| {
            matches!(
                resolve(schema),
                Some(Schema::Object(object))
                    if matches!(object.properties.get("meta"), Some(RefOr::Ref(r)) if r.ref_location == meta)
            )
        })
}

/// References the pagination parameters an operation does not declare itself.
fn add_pagination_parameters(operation: &mut Operation) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    for name in PAGINATION_PARAMETERS {
        let location = format!("#/components/parameters/{name}");
        let present = parameters.iter().any(|p| match p {
            RefOr::T(p) => p.name == name && p.parameter_in == ParameterIn::Query,
            RefOr::Ref(r) => r.ref_location == location,
        });
        if !present {
            parameters.push(RefOr::Ref(Ref::new(location)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_nest() {
        assert_eq!(prefixed("/api/v1", "/posts"), "/api/v1/posts");
        assert_eq!(prefixed("/api/v1", "/"), "/api/v1");
        assert_eq!(prefixed("/api/v1", ""), "/api/v1");
        assert_eq!(prefixed("", "/posts"), "/posts");
        assert_eq!(prefixed("", ""), "/");
    }
}
