//! Derive macros for Flagstone models and resources, re-exported by the `flagstone` crate.
//!
//! The derives arrive with the model and resource layers; this crate exists now so the
//! workspace has its final shape.
