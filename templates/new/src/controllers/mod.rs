//! Hand-written endpoints beside the generated ones: HTTP in, a service call, HTTP out.
//! Each is an `async fn` with `#[utoipa::path]`, so the OpenAPI document covers it.

pub mod info;
