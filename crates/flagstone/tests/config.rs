//! The configuration loader, through its public API: layering, profiles, validation,
//! production refusals, redaction, app sections and the JSON Schema.
//!
//! Every test reads from its own temporary directory and an injected environment; none
//! reads or changes the process environment.

#![allow(clippy::unwrap_used)]

use std::{fs, path::Path, time::Duration};

use flagstone::config::{
    Config, ConfigError, ConfigLoader, ConfigProblem, LogFormat, MIN_SECRET_BYTES, Profile,
};
use serde::Deserialize;
use tempfile::TempDir;

/// A signing secret long enough for production.
const SECRET: &str = "0123456789abcdef0123456789abcdef-signing";
/// A database URL with a password that must never be shown.
const DATABASE_URL: &str = "mongodb://user:hunter2@db.internal:27017/app";

type Env<'a> = &'a [(&'a str, &'a str)];

/// A fresh, empty configuration directory.
fn tmp() -> TempDir {
    tempfile::tempdir().unwrap()
}

/// Writes `contents` to `dir/name`.
fn write(dir: &Path, name: &str, contents: &str) {
    fs::write(dir.join(name), contents).unwrap();
}

/// Loads from `dir` with exactly the variables in `env`.
fn load(dir: &Path, env: Env<'_>) -> Result<Config, ConfigError> {
    ConfigLoader::new().dir(dir).env(env.iter().copied()).load()
}

/// Loads from `dir` and `env`, panicking with the problems if that fails.
fn load_ok(dir: &Path, env: Env<'_>) -> Config {
    load(dir, env).unwrap_or_else(|error| panic!("expected a valid configuration: {error}"))
}

/// Loads from `dir` and `env`, expecting it to fail.
fn load_err(dir: &Path, env: Env<'_>) -> ConfigError {
    match load(dir, env) {
        Ok(config) => panic!("expected an error, loaded {config:?}"),
        Err(error) => error,
    }
}

/// Loads from an empty directory and `env`, expecting it to fail.
fn env_err(env: Env<'_>) -> ConfigError {
    load_err(tmp().path(), env)
}

/// Loads `flagstone.toml` with `toml` as its contents and no environment, expecting it to fail.
fn toml_err(toml: &str) -> ConfigError {
    let dir = tmp();
    write(dir.path(), "flagstone.toml", toml);
    load_err(dir.path(), &[])
}

/// The problem about `key`, which must come from `source` and mention `message`.
fn problem<'a>(
    error: &'a ConfigError,
    key: &str,
    source: &str,
    message: &str,
) -> &'a ConfigProblem {
    let problem = error
        .get(key)
        .unwrap_or_else(|| panic!("no problem about {key}: {error}"));
    assert_eq!(problem.source, source, "{problem}");
    assert!(
        problem.message.contains(message),
        "{problem} should mention {message:?}"
    );
    problem
}

/// Setting `var` to `value` alone must fail on `key`, naming `var` as the source.
fn assert_env_problem(var: &str, value: &str, key: &str, message: &str) {
    let error = env_err(&[(var, value)]);
    problem(&error, key, var, message);
}

/// The variables a production configuration needs, with `extra` added or replacing the
/// variable of the same name.
fn production_env<'a>(extra: Env<'a>) -> Vec<(&'a str, &'a str)> {
    let required = [
        ("FLAGSTONE_PROFILE", "production"),
        ("FLAGSTONE_AUTH__SECRET", SECRET),
        ("FLAGSTONE_DATABASE__URL", DATABASE_URL),
    ];
    let kept = required
        .into_iter()
        .filter(|(k, _)| extra.iter().all(|(e, _)| e != k));
    kept.chain(extra.iter().copied()).collect()
}

/// The variables a production configuration needs, without the one named `missing`.
fn production_env_without(missing: &str) -> Vec<(&'static str, &'static str)> {
    production_env(&[])
        .into_iter()
        .filter(|(k, _)| *k != missing)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Layering
// ---------------------------------------------------------------------------------------

#[test]
fn each_layer_overrides_the_one_below() {
    let dir = tmp();
    let port = |env: Env<'_>| load_ok(dir.path(), env).server.port;

    assert_eq!(port(&[]), 3000, "built-in default");
    write(dir.path(), "flagstone.toml", "[server]\nport = 4001\n");
    assert_eq!(port(&[]), 4001, "flagstone.toml beats the default");
    write(
        dir.path(),
        "flagstone.development.toml",
        "[server]\nport = 4002\n",
    );
    assert_eq!(port(&[]), 4002, "the profile file beats flagstone.toml");
    write(dir.path(), ".env", "FLAGSTONE_SERVER__PORT=4003\n");
    assert_eq!(port(&[]), 4003, ".env beats the profile file");
    assert_eq!(
        port(&[("FLAGSTONE_SERVER__PORT", "4004")]),
        4004,
        "the environment beats .env"
    );
}

#[test]
fn an_apps_embedded_defaults_sit_below_every_file() {
    let dir = tmp();
    let defaults = "[server]\nport = 4100\n[api]\nprefix = \"/api\"\n";
    let load = |env: Env<'_>| {
        ConfigLoader::new()
            .defaults(defaults)
            .dir(dir.path())
            .env(env.iter().copied())
            .load()
            .unwrap()
    };
    let config = load(&[]);
    assert_eq!(
        (config.server.port, config.api.prefix.as_str()),
        (4100, "/api")
    );
    write(dir.path(), "flagstone.toml", "[server]\nport = 4101\n");
    let config = load(&[]);
    assert_eq!(
        config.server.port, 4101,
        "flagstone.toml beats the embedded defaults"
    );
    assert_eq!(
        config.api.prefix, "/api",
        "keys the file leaves out still come from them"
    );
    assert_eq!(
        load(&[("FLAGSTONE_SERVER__PORT", "4102")]).server.port,
        4102
    );
    // Embedded defaults are validated like any other layer.
    let error = ConfigLoader::new()
        .defaults("[server]\nport = \"abc\"\n")
        .dir(tmp().path())
        .env([("A", "B")])
        .load()
        .unwrap_err();
    assert!(error.get("server.port").is_some(), "{error}");
}

#[test]
fn authorization_schemes_are_configurable_tokens() {
    let config = load_ok(
        tmp().path(),
        &[("FLAGSTONE_AUTH__HEADER_SCHEMES", "Token,Bearer")],
    );
    assert_eq!(config.auth.header_schemes, ["Token", "Bearer"]);
    assert_eq!(load_ok(tmp().path(), &[]).auth.header_schemes, ["Bearer"]);
    for bad in ["", "Bad Scheme", "a/b"] {
        let error = env_err(&[("FLAGSTONE_AUTH__HEADER_SCHEMES", bad)]);
        assert!(
            error.get("auth.header_schemes").is_some(),
            "{bad:?}: {error}"
        );
    }
}

#[test]
fn lower_layers_still_supply_keys_the_upper_ones_leave_out() {
    let dir = tmp();
    write(
        dir.path(),
        "flagstone.toml",
        "[server]\nport = 4001\nhost = \"10.1.1.1\"\n",
    );
    write(
        dir.path(),
        "flagstone.development.toml",
        "[api]\nprefix = \"/v2\"\n",
    );
    write(dir.path(), ".env", "FLAGSTONE_LOGGING__LEVEL=debug\n");
    let config = load_ok(dir.path(), &[("FLAGSTONE_METRICS__PATH", "/stats")]);
    assert_eq!(config.server.port, 4001);
    assert_eq!(config.server.host, "10.1.1.1");
    assert_eq!(config.api.prefix, "/v2");
    assert_eq!(config.logging.level, "debug");
    assert_eq!(config.metrics.path, "/stats");
    assert_eq!(
        config.server.body_limit,
        1 << 20,
        "untouched keys keep their defaults"
    );
}

#[test]
fn profile_file_of_another_profile_is_ignored() {
    let dir = tmp();
    write(dir.path(), "flagstone.toml", "[server]\nport = 4001\n");
    write(
        dir.path(),
        "flagstone.production.toml",
        "[server]\nport = 4999\n",
    );
    write(dir.path(), "flagstone.test.toml", "[server]\nport = 4998\n");
    let config = load_ok(dir.path(), &[]);
    assert_eq!(config.profile, Profile::Development);
    assert_eq!(config.server.port, 4001);
}

#[test]
fn nested_env_keys_are_joined_with_double_underscores() {
    let config = load_ok(
        tmp().path(),
        &[
            ("FLAGSTONE_SERVER__PORT", "8080"),
            ("FLAGSTONE_SERVER__BODY_LIMIT", "2MiB"),
            ("FLAGSTONE_SERVER__REQUEST_TIMEOUT", "500ms"),
            ("FLAGSTONE_RATE_LIMIT__REQUESTS", "10"),
            ("FLAGSTONE_RATE_LIMIT__PERIOD", "2h"),
            ("FLAGSTONE_AUTH__ACCESS_TOKEN_TTL", "5m"),
            ("FLAGSTONE_HTTP__HSTS", "true"),
            ("FLAGSTONE_API__VALIDATION_STATUS", "422"),
            ("FLAGSTONE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ],
    );
    assert_eq!(config.server.port, 8080);
    assert_eq!(config.server.body_limit, 2 << 20);
    assert_eq!(config.server.request_timeout, Duration::from_millis(500));
    assert_eq!(config.rate_limit.requests, 10);
    assert_eq!(config.rate_limit.period, Duration::from_secs(7200));
    assert_eq!(config.auth.access_token_ttl, Duration::from_secs(300));
    assert!(config.http.hsts);
    assert_eq!(config.api.validation_status.as_u16(), 422);
    let proxies: Vec<String> = config
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(proxies, ["10.0.0.0/8", "127.0.0.1/32"]);
}

#[test]
fn dotenv_reads_only_flagstone_lines() {
    let dir = tmp();
    write(
        dir.path(),
        ".env",
        "# comment\nPORT=1\nSERVER__PORT=2\nDATABASE_URL=postgres://x\nFLAGSTONE_SERVER__HOST=10.2.2.2\n",
    );
    let config = load_ok(dir.path(), &[("HOME", "/root"), ("PORT", "9")]);
    assert_eq!(config.server.host, "10.2.2.2");
    assert_eq!(
        config.server.port, 3000,
        "unprefixed lines and variables are ignored"
    );
    assert_eq!(
        config.database.url.as_deref(),
        Some("file://data/flagstone.redb"),
        "DATABASE_URL without the prefix is ignored: the development default stands"
    );
}

#[test]
fn profile_comes_from_flagstone_profile_in_the_environment() {
    let dir = tmp();
    write(dir.path(), "flagstone.test.toml", "[server]\nport = 4100\n");
    let config = load_ok(dir.path(), &[("FLAGSTONE_PROFILE", "test")]);
    assert_eq!(config.profile, Profile::Test);
    assert_eq!(config.server.port, 4100, "flagstone.test.toml is read");
}

#[test]
fn profile_comes_from_flagstone_profile_in_dotenv() {
    let dir = tmp();
    write(dir.path(), ".env", "FLAGSTONE_PROFILE=test\n");
    write(dir.path(), "flagstone.test.toml", "[server]\nport = 4100\n");
    let config = load_ok(dir.path(), &[]);
    assert_eq!(config.profile, Profile::Test);
    assert_eq!(config.server.port, 4100);

    let config = load_ok(dir.path(), &[("FLAGSTONE_PROFILE", "development")]);
    assert_eq!(
        config.profile,
        Profile::Development,
        "the environment beats .env"
    );
    assert_eq!(config.server.port, 3000);
}

#[test]
fn profile_method_beats_flagstone_profile() {
    let config = ConfigLoader::new()
        .dir(tmp().path())
        .env([("FLAGSTONE_PROFILE", "production")])
        .profile(Profile::Test)
        .load()
        .unwrap();
    assert_eq!(config.profile, Profile::Test);
}

#[test]
fn profile_names_accept_short_forms_and_any_case() {
    for (name, profile) in [("dev", Profile::Development), ("TEST", Profile::Test)] {
        let config = load_ok(tmp().path(), &[("FLAGSTONE_PROFILE", name)]);
        assert_eq!(config.profile, profile, "{name}");
    }
    let env = production_env(&[("FLAGSTONE_PROFILE", "prod")]);
    assert_eq!(load_ok(tmp().path(), &env).profile, Profile::Production);
}

#[test]
fn unknown_profile_from_the_environment_is_an_error_naming_profile() {
    let error = env_err(&[("FLAGSTONE_PROFILE", "staging")]);
    assert_eq!(error.problems.len(), 1, "{error}");
    problem(&error, "profile", "FLAGSTONE_PROFILE", "\"staging\"");
}

#[test]
fn unknown_profile_from_dotenv_is_an_error_naming_profile_and_the_file() {
    let dir = tmp();
    write(dir.path(), ".env", "FLAGSTONE_PROFILE=staging\n");
    let error = load_err(dir.path(), &[]);
    problem(
        &error,
        "profile",
        "FLAGSTONE_PROFILE in .env",
        "\"staging\"",
    );
}

// ---------------------------------------------------------------------------------------
// Profile defaults
// ---------------------------------------------------------------------------------------

#[test]
fn development_defaults() {
    let config = load_ok(tmp().path(), &[]);
    assert_eq!(config.profile, Profile::Development);
    assert_eq!(config.server.host, "127.0.0.1");
    assert_eq!(config.server.port, 3000);
    assert_eq!(config.logging.format, LogFormat::Text);
    assert_eq!(config.logging.level, "info");
    assert!(!config.http.hsts);
    assert_eq!(config.api.prefix, "/api/v1");
    assert_eq!(config.api.validation_status.as_u16(), 400);
    assert_eq!(config.rate_limit.burst, None);
}

#[test]
fn test_profile_defaults() {
    let config = load_ok(tmp().path(), &[("FLAGSTONE_PROFILE", "test")]);
    assert_eq!(config.server.host, "127.0.0.1");
    assert_eq!(config.logging.format, LogFormat::Text);
    assert_eq!(config.logging.level, "warn");
    assert!(!config.http.hsts);
}

#[test]
fn production_defaults() {
    let config = load_ok(tmp().path(), &production_env(&[]));
    assert_eq!(config.profile, Profile::Production);
    assert_eq!(config.server.host, "0.0.0.0");
    assert_eq!(config.logging.format, LogFormat::Json);
    assert!(config.http.hsts);

    let defaults = Config::defaults(Profile::Production);
    assert_eq!(defaults.server.host, "0.0.0.0");
    assert_eq!(defaults.logging.format, LogFormat::Json);
    assert!(defaults.http.hsts);
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

#[test]
fn non_numeric_port_is_reported_with_its_variable() {
    let error = env_err(&[("FLAGSTONE_SERVER__PORT", "abc")]);
    assert_eq!(error.problems.len(), 1, "{error}");
    let problem = problem(&error, "server.port", "FLAGSTONE_SERVER__PORT", "");
    assert_eq!(problem.message, "expected an integer 1-65535, got \"abc\"");
    assert_eq!(
        problem.to_string(),
        "server.port: expected an integer 1-65535, got \"abc\" (from FLAGSTONE_SERVER__PORT)"
    );
}

#[test]
fn out_of_range_ports_are_reported() {
    assert_env_problem("FLAGSTONE_SERVER__PORT", "0", "server.port", "got \"0\"");
    assert_env_problem(
        "FLAGSTONE_SERVER__PORT",
        "70000",
        "server.port",
        "got \"70000\"",
    );
    for port in ["0", "70000"] {
        let error = toml_err(&format!("[server]\nport = {port}\n"));
        problem(
            &error,
            "server.port",
            "flagstone.toml",
            &format!("1-65535, got {port}"),
        );
    }
}

#[test]
fn bad_port_in_dotenv_names_the_file() {
    let dir = tmp();
    write(dir.path(), ".env", "FLAGSTONE_SERVER__PORT=abc\n");
    let error = load_err(dir.path(), &[]);
    problem(
        &error,
        "server.port",
        "FLAGSTONE_SERVER__PORT in .env",
        "got \"abc\"",
    );
}

#[test]
fn bad_port_in_profile_file_names_the_file() {
    let dir = tmp();
    write(
        dir.path(),
        "flagstone.development.toml",
        "[server]\nport = \"abc\"\n",
    );
    let error = load_err(dir.path(), &[]);
    problem(
        &error,
        "server.port",
        "flagstone.development.toml",
        "got \"abc\"",
    );
}

#[test]
fn bad_duration_is_reported() {
    assert_env_problem(
        "FLAGSTONE_SERVER__REQUEST_TIMEOUT",
        "10 parsecs",
        "server.request_timeout",
        "expected a duration such as \"30s\"",
    );
    let error = toml_err("[auth]\naccess_token_ttl = \"1.5h\"\n");
    problem(
        &error,
        "auth.access_token_ttl",
        "flagstone.toml",
        "got \"1.5h\"",
    );
}

#[test]
fn bad_size_is_reported() {
    assert_env_problem(
        "FLAGSTONE_SERVER__BODY_LIMIT",
        "lots",
        "server.body_limit",
        "expected a size such as \"1MiB\"",
    );
}

#[test]
fn bad_bool_is_reported() {
    assert_env_problem(
        "FLAGSTONE_HTTP__HSTS",
        "maybe",
        "http.hsts",
        "expected true or false",
    );
    let error = toml_err("[cors]\nallow_credentials = \"sometimes\"\n");
    problem(
        &error,
        "cors.allow_credentials",
        "flagstone.toml",
        "got \"sometimes\"",
    );
}

#[test]
fn validation_status_must_be_400_or_422() {
    assert_env_problem(
        "FLAGSTONE_API__VALIDATION_STATUS",
        "404",
        "api.validation_status",
        "expected 400 or 422, got \"404\"",
    );
    let error = toml_err("[api]\nvalidation_status = 500\n");
    problem(&error, "api.validation_status", "flagstone.toml", "got 500");
}

#[test]
fn bad_log_format_is_reported() {
    assert_env_problem(
        "FLAGSTONE_LOGGING__FORMAT",
        "xml",
        "logging.format",
        "expected one of \"text\", \"pretty\", \"json\", got \"xml\"",
    );
}

#[test]
fn bad_logging_level_filter_is_reported() {
    assert_env_problem(
        "FLAGSTONE_LOGGING__LEVEL",
        "info,my_app=loudest",
        "logging.level",
        "is not a valid filter",
    );
}

#[test]
fn bad_api_prefix_is_reported() {
    for prefix in ["api/v1", "/api/"] {
        assert_env_problem(
            "FLAGSTONE_API__PREFIX",
            prefix,
            "api.prefix",
            "must start with `/`",
        );
    }
    let config = load_ok(tmp().path(), &[("FLAGSTONE_API__PREFIX", "")]);
    assert_eq!(config.api.prefix, "", "an empty prefix means none");
}

#[test]
fn bad_metrics_path_is_reported() {
    for path in ["metrics", "/", ""] {
        assert_env_problem(
            "FLAGSTONE_METRICS__PATH",
            path,
            "metrics.path",
            "must start with `/`",
        );
    }
}

#[test]
fn bad_cors_origin_is_reported() {
    for origin in [
        "app.example.com",
        "https://app.example.com/path",
        "ftp://app.example.com",
    ] {
        assert_env_problem(
            "FLAGSTONE_CORS__ALLOWED_ORIGINS",
            origin,
            "cors.allowed_origins",
            &format!("{origin:?} is not an origin"),
        );
    }
}

#[test]
fn invalid_trusted_proxy_is_reported() {
    assert_env_problem(
        "FLAGSTONE_TRUSTED_PROXIES",
        "10.0.0.0/8, not-an-ip",
        "trusted_proxies",
        "expected a list of IP addresses or CIDR ranges",
    );
    let error = toml_err("trusted_proxies = [\"10.0.0.300\"]\n");
    problem(&error, "trusted_proxies", "flagstone.toml", "got an array");
}

#[test]
fn unknown_key_in_a_known_section_is_reported() {
    let error = toml_err("[server]\nprot = 8080\n");
    let typo = problem(&error, "server.prot", "flagstone.toml", "unknown setting");
    assert!(
        typo.message.contains("port"),
        "lists the known keys: {typo}"
    );
    assert_env_problem(
        "FLAGSTONE_SERVER__PROT",
        "8080",
        "server.prot",
        "unknown setting",
    );
}

#[test]
fn unknown_top_level_keys_are_left_to_the_app() {
    let config = load_ok(tmp().path(), &[("FLAGSTONE_PAYMENTS__CURRENCY", "EUR")]);
    assert_eq!(config.server.port, 3000);
}

#[test]
fn zero_body_limit_is_reported() {
    let error = toml_err("[server]\nbody_limit = 0\n");
    problem(
        &error,
        "server.body_limit",
        "flagstone.toml",
        "must be greater than 0",
    );
}

#[test]
fn rate_limit_with_zero_requests_is_reported_unless_disabled() {
    let error = toml_err("[rate_limit]\nrequests = 0\n");
    problem(
        &error,
        "rate_limit",
        "flagstone.toml",
        "requests and period must be greater than 0",
    );

    let disabled = [
        ("FLAGSTONE_RATE_LIMIT__REQUESTS", "0"),
        ("FLAGSTONE_RATE_LIMIT__ENABLED", "false"),
    ];
    let config = load_ok(tmp().path(), &disabled);
    assert!(!config.rate_limit.enabled);
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = tmp();
    write(
        dir.path(),
        "flagstone.toml",
        "[server]\nbody_limit = \"lots\"\nprot = 1\n",
    );
    write(dir.path(), ".env", "FLAGSTONE_LOGGING__FORMAT=xml\n");
    let error = load_err(
        dir.path(),
        &[
            ("FLAGSTONE_SERVER__PORT", "abc"),
            ("FLAGSTONE_HTTP__HSTS", "maybe"),
        ],
    );
    let expected = [
        ("server.port", "FLAGSTONE_SERVER__PORT"),
        ("server.body_limit", "flagstone.toml"),
        ("logging.format", "FLAGSTONE_LOGGING__FORMAT in .env"),
        ("http.hsts", "FLAGSTONE_HTTP__HSTS"),
        ("server.prot", "flagstone.toml"),
    ];
    assert_eq!(error.problems.len(), expected.len(), "{error}");
    for (key, source) in expected {
        problem(&error, key, source, "");
    }

    let shown = error.to_string();
    assert!(
        shown.starts_with("invalid configuration (5 problems):"),
        "{shown}"
    );
    for problem in &error.problems {
        assert!(
            shown.contains(&format!("\n  - {problem}")),
            "{shown} should list {problem}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Production refusals
// ---------------------------------------------------------------------------------------

#[test]
fn production_refuses_a_missing_secret() {
    let error = env_err(&production_env_without("FLAGSTONE_AUTH__SECRET"));
    assert_eq!(error.problems.len(), 1, "{error}");
    problem(
        &error,
        "auth.secret",
        "default",
        "is required in production",
    );
}

#[test]
fn production_refuses_a_short_secret_without_showing_it() {
    let short = "hunter2-is-too-short";
    let dir = tmp();
    write(
        dir.path(),
        "flagstone.production.toml",
        &format!("[auth]\nsecret = {short:?}\n"),
    );
    let error = load_err(
        dir.path(),
        &production_env_without("FLAGSTONE_AUTH__SECRET"),
    );
    let problem = problem(
        &error,
        "auth.secret",
        "flagstone.production.toml",
        &format!(
            "must be at least {MIN_SECRET_BYTES} bytes in production, got {}",
            short.len()
        ),
    );
    assert!(!problem.message.contains(short), "{problem}");
    assert!(!error.to_string().contains(short), "{error}");

    let config = load_ok(tmp().path(), &[("FLAGSTONE_AUTH__SECRET", short)]);
    assert_eq!(
        config.auth.secret.unwrap().expose(),
        short,
        "short secrets are fine in development"
    );
}

#[test]
fn wildcard_origin_with_credentials_is_refused_in_every_profile() {
    let cors = [
        ("FLAGSTONE_CORS__ALLOWED_ORIGINS", "*"),
        ("FLAGSTONE_CORS__ALLOW_CREDENTIALS", "true"),
    ];
    for profile in ["development", "test", "production"] {
        let error = env_err(&production_env(&[
            cors[0],
            cors[1],
            ("FLAGSTONE_PROFILE", profile),
        ]));
        assert_eq!(error.problems.len(), 1, "{profile}: {error}");
        problem(
            &error,
            "cors.allowed_origins",
            "FLAGSTONE_CORS__ALLOWED_ORIGINS",
            "`*` cannot be combined with allow_credentials = true",
        );
    }
    let config = load_ok(tmp().path(), &cors[..1]);
    assert_eq!(config.cors.allowed_origins, ["*"], "`*` alone is allowed");
}

#[test]
fn production_refuses_a_wildcard_origin() {
    let error = env_err(&production_env(&[("FLAGSTONE_CORS__ALLOWED_ORIGINS", "*")]));
    assert_eq!(error.problems.len(), 1, "{error}");
    problem(
        &error,
        "cors.allowed_origins",
        "FLAGSTONE_CORS__ALLOWED_ORIGINS",
        "`*` is not allowed in production",
    );
}

#[test]
fn production_refuses_an_unset_database_url() {
    let error = env_err(&production_env_without("FLAGSTONE_DATABASE__URL"));
    assert_eq!(error.problems.len(), 1, "{error}");
    problem(
        &error,
        "database.url",
        "default",
        "is required in production",
    );

    let error = env_err(&production_env(&[("FLAGSTONE_DATABASE__URL", "")]));
    problem(
        &error,
        "database.url",
        "FLAGSTONE_DATABASE__URL",
        "is required in production",
    );
}

#[test]
fn production_reports_every_refusal_at_once() {
    let error = env_err(&[("FLAGSTONE_PROFILE", "production")]);
    let keys: Vec<&str> = error.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["auth.secret", "database.url"], "{error}");
}

#[test]
fn production_loads_when_everything_is_set() {
    let dir = tmp();
    write(
        dir.path(),
        "flagstone.production.toml",
        "[cors]\nallowed_origins = [\"https://app.example.com\"]\nallow_credentials = true\n",
    );
    let config = load_ok(dir.path(), &production_env(&[]));
    assert_eq!(config.profile, Profile::Production);
    assert_eq!(config.auth.secret.unwrap().expose(), SECRET);
    assert_eq!(config.database.url.as_deref(), Some(DATABASE_URL));
    assert!(config.cors.allow_credentials);
}

// ---------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------

#[test]
fn debug_output_never_shows_secrets_or_database_password() {
    let config = load_ok(
        tmp().path(),
        &production_env(&[(
            "FLAGSTONE_AUTH__PREVIOUS_SECRETS",
            "old-secret-one-long-enough-for-production,old-secret-two-long-enough-for-production",
        )]),
    );
    assert_eq!(config.auth.previous_secrets.len(), 2);
    assert_eq!(
        config.auth.previous_secrets[1].expose(),
        "old-secret-two-long-enough-for-production"
    );

    let debug = format!("{config:?}");
    for hidden in [SECRET, "old-secret-one", "old-secret-two", "hunter2"] {
        // Each old secret's prefix is enough to spot a leak.
        assert!(!debug.contains(hidden), "{hidden:?} leaked into {debug}");
    }
    assert!(debug.contains("[redacted]"), "{debug}");
    assert!(
        debug.contains("db.internal:27017/app"),
        "the rest of the URL stays: {debug}"
    );
    assert!(!format!("{config:#?}").contains("hunter2"));
}

#[test]
fn malformed_secrets_are_never_echoed() {
    let secret = "hunter2-malformed-secret";
    for toml in [
        format!("[auth]\nsecret = [{secret:?}]\n"),
        format!("[auth]\nsecret = {{ value = {secret:?} }}\n"),
        format!("[auth]\nprevious_secrets = [[{secret:?}]]\n"),
        format!("[auth]\nprevious_secrets = {{ value = {secret:?} }}\n"),
    ] {
        let error = toml_err(&toml);
        assert_eq!(error.problems.len(), 1, "{toml}: {error}");
        let problem = &error.problems[0];
        assert!(problem.key.starts_with("auth."), "{problem}");
        assert_eq!(problem.source, "flagstone.toml", "{problem}");
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(
                !shown.contains("hunter2"),
                "{toml}: the secret leaked into {shown}"
            );
        }
    }
}

#[test]
fn unparsable_dotenv_line_never_echoes_its_value() {
    let dir = tmp();
    write(
        dir.path(),
        ".env",
        "FLAGSTONE_SERVER__PORT=8080\nFLAGSTONE_AUTH__SECRET='hunter2-unterminated\n",
    );
    let error = load_err(dir.path(), &[]);
    assert_eq!(error.problems.len(), 1, "{error}");
    assert_eq!(error.problems[0].key, ".env", "{error}");
    assert!(
        error.problems[0].message.contains("FLAGSTONE_AUTH__SECRET"),
        "{error}"
    );
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains("hunter2"), "the secret leaked into {shown}");
    }
}

// ---------------------------------------------------------------------------------------
// App-defined sections
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, PartialEq)]
struct Payments {
    currency: String,
    max_cents: u64,
    live: bool,
}

#[test]
fn app_section_from_toml() {
    let dir = tmp();
    write(
        dir.path(),
        "flagstone.toml",
        "[payments]\ncurrency = \"EUR\"\nmax_cents = 5000\nlive = true\n",
    );
    let payments: Payments = load_ok(dir.path(), &[]).section("payments").unwrap();
    assert_eq!(
        payments,
        Payments {
            currency: "EUR".to_owned(),
            max_cents: 5000,
            live: true
        }
    );
}

#[test]
fn app_section_from_env_converts_strings() {
    let dir = tmp();
    write(
        dir.path(),
        "flagstone.toml",
        "[payments]\ncurrency = \"EUR\"\nmax_cents = 1\n",
    );
    let env = [
        ("FLAGSTONE_PAYMENTS__MAX_CENTS", "7500"),
        ("FLAGSTONE_PAYMENTS__LIVE", "false"),
    ];
    let payments: Payments = load_ok(dir.path(), &env).section("payments").unwrap();
    assert_eq!(
        payments,
        Payments {
            currency: "EUR".to_owned(),
            max_cents: 7500,
            live: false
        }
    );
}

#[test]
fn app_section_type_error_names_the_key() {
    let env = [
        ("FLAGSTONE_PAYMENTS__CURRENCY", "EUR"),
        ("FLAGSTONE_PAYMENTS__MAX_CENTS", "lots"),
        ("FLAGSTONE_PAYMENTS__LIVE", "true"),
    ];
    let config = load_ok(tmp().path(), &env);
    let error = config.section::<Payments>("payments").unwrap_err();
    assert_eq!(error.problems.len(), 1, "{error}");
    problem(
        &error,
        "payments.max_cents",
        "FLAGSTONE_PAYMENTS__MAX_CENTS",
        "",
    );

    let dir = tmp();
    write(
        dir.path(),
        "flagstone.toml",
        "[payments]\ncurrency = \"EUR\"\nmax_cents = -1\nlive = true\n",
    );
    let error = load_ok(dir.path(), &[])
        .section::<Payments>("payments")
        .unwrap_err();
    problem(&error, "payments.max_cents", "flagstone.toml", "");
}

#[test]
fn missing_app_section_is_an_error_naming_it() {
    let error = load_ok(tmp().path(), &[])
        .section::<Payments>("payments")
        .unwrap_err();
    assert_eq!(error.problems[0].key, "payments", "{error}");
}

// ---------------------------------------------------------------------------------------
// Files, schema and lists
// ---------------------------------------------------------------------------------------

#[test]
fn toml_syntax_error_names_the_file() {
    for file in ["flagstone.toml", "flagstone.development.toml"] {
        let dir = tmp();
        write(dir.path(), file, "[server\nport = 3000\n");
        let error = load_err(dir.path(), &[]);
        assert_eq!(error.problems.len(), 1, "{error}");
        assert!(
            error.to_string().contains(file),
            "{file} not named in {error}"
        );
    }
}

#[test]
fn json_schema_describes_every_section_and_hides_the_secret() {
    let schema = Config::json_schema();
    assert_eq!(schema["type"], "object", "{schema:#}");
    let properties = schema["properties"].as_object().unwrap();
    for section in [
        "server",
        "api",
        "database",
        "auth",
        "cors",
        "rate_limit",
        "logging",
        "http",
        "metrics",
        "openapi",
        "trusted_proxies",
    ] {
        assert!(
            properties.contains_key(section),
            "no {section} in {schema:#}"
        );
    }
    assert!(!properties.contains_key("figment"));

    let secret = resolve(
        &schema,
        &resolve(&schema, &properties["auth"])["properties"]["secret"],
    );
    assert_eq!(secret["writeOnly"], true, "{secret:#}");
}

/// Follows `$ref`s and the non-null branch of `anyOf`/`oneOf`, as schemars writes `Option<T>`.
fn resolve(root: &serde_json::Value, schema: &serde_json::Value) -> serde_json::Value {
    if let Some(path) = schema["$ref"].as_str() {
        let target = root.pointer(path.trim_start_matches('#')).unwrap();
        return resolve(root, target);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema[key].as_array() {
            let branch = branches.iter().find(|b| b["type"] != "null").unwrap();
            return resolve(root, branch);
        }
    }
    schema.clone()
}

#[test]
fn cors_origins_from_a_toml_array() {
    let dir = tmp();
    write(
        dir.path(),
        "flagstone.toml",
        "[cors]\nallowed_origins = [\"https://app.example.com\", \"http://localhost:5173\"]\n",
    );
    let config = load_ok(dir.path(), &[]);
    assert_eq!(
        config.cors.allowed_origins,
        ["https://app.example.com", "http://localhost:5173"]
    );
}

#[test]
fn cors_origins_from_a_comma_separated_env_var() {
    let env = [(
        "FLAGSTONE_CORS__ALLOWED_ORIGINS",
        "https://app.example.com, http://localhost:5173,",
    )];
    let config = load_ok(tmp().path(), &env);
    assert_eq!(
        config.cors.allowed_origins,
        ["https://app.example.com", "http://localhost:5173"]
    );
}
