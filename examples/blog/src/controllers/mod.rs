//! Hand-written endpoints beside the generated ones: HTTP in, a service call, HTTP out.

pub mod admin;
pub mod covers;
pub mod posts;
