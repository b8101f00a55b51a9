//! `GET /openapi.json` and `GET /docs`.

use axum::{Router, body::Bytes, response::Html, routing::get};
use http::{HeaderValue, header};

use crate::config::OpenApiConfig;

/// The two routes, at the root: the document, serialized once, and the docs page.
pub(crate) fn routes(config: &OpenApiConfig, document: Bytes) -> Router {
    let page = Html(docs_page(config));
    let csp = HeaderValue::from_str(&docs_csp(&config.docs_script_url))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    Router::new()
        .route(
            &config.json_path,
            get(move || {
                let document = document.clone();
                async move {
                    let content_type = HeaderValue::from_static("application/json");
                    ([(header::CONTENT_TYPE, content_type)], document)
                }
            }),
        )
        .route(
            &config.docs_path,
            get(move || {
                let (page, csp) = (page.clone(), csp.clone());
                async move { ([(header::CONTENT_SECURITY_POLICY, csp)], page) }
            }),
        )
}

/// A page that loads `docs_script_url` (the Scalar API reference by default) and points it
/// at the JSON document. No inline script: the configuration is in `data-url`.
fn docs_page(config: &OpenApiConfig) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body>
<noscript>The API reference needs JavaScript; the document itself is at <a href="{json}">{json}</a>.</noscript>
<script id="api-reference" data-url="{json}"></script>
<script src="{script}"></script>
</body>
</html>
"#,
        title = escape(&config.title),
        json = escape(&config.json_path),
        script = escape(&config.docs_script_url),
    )
}

/// The docs page's own Content-Security-Policy: the app-wide one allows scripts from
/// `'self'` only, the page needs the script's origin too (and inline styles, fonts and
/// images, as API reference bundles use them).
fn docs_csp(script_url: &str) -> String {
    let origin = origin(script_url)
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{origin}; style-src 'self' 'unsafe-inline'{origin}; \
         font-src 'self' data: https:; img-src 'self' data: https:; connect-src 'self'{origin}; \
         worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
    )
}

/// `scheme://host[:port]` of an absolute URL; `None` for a path on this server.
fn origin(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme.len() + 3 + end])
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_origin_is_allowed() {
        assert_eq!(
            origin("https://cdn.jsdelivr.net/npm/@scalar/api-reference"),
            Some("https://cdn.jsdelivr.net")
        );
        assert_eq!(
            origin("http://localhost:8080"),
            Some("http://localhost:8080")
        );
        assert_eq!(origin("/assets/api-reference.js"), None);
        let csp = docs_csp("https://cdn.example.com/x.js");
        assert!(
            csp.contains("script-src 'self' https://cdn.example.com;"),
            "{csp}"
        );
        assert!(docs_csp("/x.js").contains("script-src 'self';"));
    }

    #[test]
    fn the_page_escapes_what_it_interpolates() {
        let config = OpenApiConfig {
            title: "<Tom & Jerry>".to_owned(),
            ..OpenApiConfig::default()
        };
        let page = docs_page(&config);
        assert!(
            page.contains("<title>&lt;Tom &amp; Jerry&gt;</title>"),
            "{page}"
        );
        assert!(page.contains(r#"data-url="/openapi.json""#), "{page}");
        assert!(page.contains(
            r#"<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>"#
        ));
    }
}
