//! Logging and metrics.
//!
//! [`init`] installs a `tracing` subscriber from [`LoggingConfig`]: one coloured line per
//! event in development (`text`), JSON lines in production (`json`), with the level from
//! `logging.level` unless `RUST_LOG` is set. Every request runs in a span carrying its
//! method, route, request id and client IP; the values of `Authorization`, `Cookie` and
//! `Set-Cookie` are never recorded.
//!
//! ```no_run
//! use flagstone::{config::{Config, Profile}, telemetry};
//!
//! telemetry::init(&Config::defaults(Profile::Development).logging);
//! tracing::info!("ready");
//! ```

mod metrics;

pub use metrics::Metrics;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingConfig};

/// Installs the global subscriber. Returns `false` when one was already installed (for
/// example by a test harness), leaving it in place.
pub fn init(config: &LoggingConfig) -> bool {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|rust_log| EnvFilter::try_new(rust_log).ok())
        .or_else(|| EnvFilter::try_new(&config.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.format {
        LogFormat::Text => builder.try_init().is_ok(),
        LogFormat::Pretty => builder.pretty().try_init().is_ok(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
            .is_ok(),
    }
}
