//! Does the router serve what the document says, and does the document cover what the
//! router serves?

use std::fmt;

use axum::body::Body;
use http::{Method, Request, StatusCode};

use crate::testing::TestApp;

/// What [`TestApp::openapi_agreement`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Agreement {
    /// The documented operations sent to the router, as `GET /api/v1/posts/{id}`.
    pub checked: Vec<String>,
    /// Documented operations the router does not serve, with what it answered.
    pub missing: Vec<String>,
    /// Where routers were added with [`App::routes`](crate::App::routes), which the document
    /// knows nothing about: `src/main.rs:12:10`.
    pub undocumented: Vec<String>,
}

impl Agreement {
    /// Every documented operation is served, and every API router is documented.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.undocumented.is_empty()
    }

    /// Panics with the whole report unless [`Agreement::is_ok`].
    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(self.is_ok(), "{self}");
    }
}

impl fmt::Display for Agreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the OpenAPI document and the router: {} operation(s) checked",
            self.checked.len()
        )?;
        for missing in &self.missing {
            write!(f, "\n  - documented but not served: {missing}")?;
        }
        for location in &self.undocumented {
            write!(
                f,
                "\n  - served but not documented: the router added with App::routes at {location} \
                 (use App::api with #[utoipa::path] handlers)"
            )?;
        }
        Ok(())
    }
}

impl TestApp {
    /// Checks that the app's OpenAPI document and its router agree: sends every documented
    /// operation's method to its path (each `{param}` filled with `1`) and reports those the
    /// router answers with 405 or with the "no route" 404, and lists the routers added with
    /// [`App::routes`](crate::App::routes), which are served but not documented. Health,
    /// metrics, the document and the docs page are Flagstone's own and not counted.
    ///
    /// Any other answer — 200, 400, 401, a 404 from the handler — means the route exists.
    ///
    /// ```
    /// use flagstone::{config::{Config, Profile}, prelude::*, testing::TestApp};
    ///
    /// #[utoipa::path(get, path = "/ping", responses((status = 200, body = String)))]
    /// async fn ping() -> &'static str {
    ///     "pong"
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = App::new(Config::defaults(Profile::Test))
    ///     .api(OpenApiRouter::new().routes(routes!(ping)));
    /// let agreement = TestApp::new(app).openapi_agreement().await;
    /// agreement.assert_ok();
    /// assert_eq!(agreement.checked, ["GET /api/v1/ping"]);
    /// # }
    /// ```
    pub async fn openapi_agreement(&self) -> Agreement {
        let mut agreement = Agreement {
            undocumented: self.undocumented.clone(),
            ..Agreement::default()
        };
        let Some(paths) = self.openapi["paths"].as_object() else {
            return agreement;
        };
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (key, _) in item.iter() {
                let Some(method) = method(key) else {
                    continue;
                };
                let operation = format!("{method} {path}");
                let request = Request::builder()
                    .method(method)
                    .uri(fill_parameters(path))
                    .body(Body::empty())
                    .expect("a valid request");
                let response = self.send(request).await;
                let no_route = response.status() == StatusCode::NOT_FOUND
                    && serde_json::from_slice::<serde_json::Value>(response.bytes())
                        .ok()
                        .and_then(|body| body["detail"].as_str().map(str::to_owned))
                        .is_some_and(|detail| detail.starts_with("no route for"));
                if no_route {
                    agreement
                        .missing
                        .push(format!("{operation} (404, no route)"));
                } else if response.status() == StatusCode::METHOD_NOT_ALLOWED {
                    let allow = response.header("allow").unwrap_or("nothing").to_owned();
                    agreement
                        .missing
                        .push(format!("{operation} (405, allowed: {allow})"));
                }
                agreement.checked.push(operation);
            }
        }
        agreement
    }
}

/// The HTTP method of a path item's key; `None` for `parameters`, `summary` and the like.
fn method(key: &str) -> Option<Method> {
    Some(match key {
        "get" => Method::GET,
        "put" => Method::PUT,
        "post" => Method::POST,
        "delete" => Method::DELETE,
        "options" => Method::OPTIONS,
        "head" => Method::HEAD,
        "patch" => Method::PATCH,
        "trace" => Method::TRACE,
        _ => return None,
    })
}

/// `/posts/{id}/comments/{n}` → `/posts/1/comments/1`.
fn fill_parameters(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push('1');
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_get_placeholders() {
        assert_eq!(fill_parameters("/a/{id}/b/{n}"), "/a/1/b/1");
        assert_eq!(fill_parameters("/plain"), "/plain");
        assert_eq!(fill_parameters("/odd/{"), "/odd/{");
    }
}
