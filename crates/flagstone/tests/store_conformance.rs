//! The store conformance suite: one set of cases, written once against the public store
//! API, run on every backend.
//!
//! Each case is an `async fn(&Store, &Ctx)`; [`support::conformance!`] turns it into
//! three tests, `<case>::memory` (`Store::memory()`), `<case>::file` (a `file://` store in
//! a fresh temporary directory) and `<case>::mongo` (the server `FLAGSTONE_TEST_MONGODB_URI`
//! names, in a database of the test's own, dropped at the end). Without the variable the
//! `mongo` tests print `skipped: FLAGSTONE_TEST_MONGODB_URI not set`; on a server that
//! lacks what a case needs they print `skipped: <server> lacks <feature>`. Every skip is
//! also counted on a line written straight to stderr, so it shows even without
//! `--nocapture`.
//!
//! The `differential` module compares the embedded store with the server on random
//! documents, filters, sorts and updates (proptest), when the server is there.
//!
//! ```sh
//! cargo test -p flagstone --test store_conformance
//! export "$(scripts/test-mongo.sh start)"
//! cargo test -p flagstone --test store_conformance -- --nocapture
//! scripts/test-mongo.sh stop
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

#[path = "store_conformance/support.rs"]
mod support;

#[path = "store_conformance/differential.rs"]
mod differential;
#[path = "store_conformance/errors.rs"]
mod errors;
#[path = "store_conformance/ids.rs"]
mod ids;
#[path = "store_conformance/indexes.rs"]
mod indexes;
#[path = "store_conformance/limits.rs"]
mod limits;
#[path = "store_conformance/queries.rs"]
mod queries;
#[path = "store_conformance/reads.rs"]
mod reads;
#[path = "store_conformance/updates.rs"]
mod updates;
#[path = "store_conformance/writes.rs"]
mod writes;
