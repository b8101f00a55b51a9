//! The command line of an app's own binary: serve, or inspect the app without serving.
//!
//! An app's `main` hands its arguments and its build function to [`run`]:
//!
//! ```no_run
//! use flagstone::prelude::*;
//!
//! async fn build(app: App) -> flagstone::Result<App> {
//!     app.open_store().await?.auth().await
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     flagstone::cli::run("my-app", build).await
//! }
//! ```
//!
//! | command | does |
//! | --- | --- |
//! | (none), `serve` | loads the configuration, builds the app and serves it |
//! | `routes` | lists every documented route: method, path, who may call it, operation id |
//! | `openapi [--out FILE]` | writes the OpenAPI document (JSON) to stdout or `FILE` |
//! | `config check` | loads and validates the configuration, and prints it (secrets hidden) |
//! | `config schema [--out FILE]` | writes the JSON Schema of the configuration |
//! | `help`, `--help`, `<command> --help` | usage |
//!
//! `routes` and `openapi` build the app on an in-memory store (`database.url` is replaced
//! by `memory://`), so inspecting never touches the database the configuration names.
//! Bad arguments print the usage to stderr and exit with status 2; a failure (an invalid
//! configuration, an app that does not build) exits with status 1.

use std::{future::Future, io::Write, path::PathBuf, process::ExitCode};

use serde_json::Value;

use crate::{
    App, Config, Result,
    config::{ConfigError, ConfigLoader},
    telemetry,
};

/// Runs the command in the process arguments (see the [module docs](self)); `name` is
/// the binary's name, for the usage text.
pub async fn run<F, Fut>(name: &str, build: F) -> ExitCode
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = Result<App>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    run_with(name, &args, build, &mut stdout, &mut stderr).await
}

/// [`run`] with the arguments (without the program name) and the output streams given:
/// what the tests of a command call.
pub async fn run_with<F, Fut>(
    name: &str,
    args: &[String],
    build: F,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = Result<App>>,
{
    let command = match Command::parse(args) {
        Ok(command) => command,
        Err(message) => {
            let _ = writeln!(err, "error: {message}\n\n{}", usage(name));
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => writeln!(out, "{}", usage(name)).map_err(Failure::from),
        Command::Serve => serve(build).await,
        Command::Routes => inspect(build).await.and_then(|(doc, undocumented)| {
            let doc = serde_json::to_value(doc).unwrap_or_default();
            write_routes(out, &doc, &undocumented).map_err(Failure::from)
        }),
        Command::OpenApi { out: file } => inspect(build).await.and_then(|(doc, _)| {
            let json = serde_json::to_string_pretty(&doc).unwrap_or_default();
            emit(out, file.as_ref(), &json, "OpenAPI document")
        }),
        Command::ConfigCheck => match Config::load() {
            Ok(config) => {
                writeln!(out, "configuration is valid\n{config:#?}").map_err(Failure::from)
            }
            Err(e) => Err(Failure::Config(e)),
        },
        Command::ConfigSchema { out: file } => {
            let json = serde_json::to_string_pretty(&Config::json_schema()).unwrap_or_default();
            emit(out, file.as_ref(), &json, "configuration schema")
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let _ = writeln!(err, "error: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// What the arguments ask for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    Serve,
    Routes,
    OpenApi { out: Option<PathBuf> },
    ConfigCheck,
    ConfigSchema { out: Option<PathBuf> },
}

impl Command {
    fn parse(args: &[String]) -> std::result::Result<Self, String> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if args.iter().any(|a| matches!(*a, "-h" | "--help")) {
            return Ok(Self::Help);
        }
        match args.as_slice() {
            [] | ["serve"] => Ok(Self::Serve),
            ["help"] => Ok(Self::Help),
            ["routes"] => Ok(Self::Routes),
            ["openapi", rest @ ..] => Ok(Self::OpenApi {
                out: out_option(rest)?,
            }),
            ["config", "check"] => Ok(Self::ConfigCheck),
            ["config", "schema", rest @ ..] => Ok(Self::ConfigSchema {
                out: out_option(rest)?,
            }),
            ["config", ..] => Err("`config` takes `check` or `schema`".to_owned()),
            [command, ..] if is_command(command) => {
                Err(format!("unexpected arguments after `{command}`"))
            }
            [other, ..] => Err(format!("unknown command `{other}`")),
        }
    }
}

fn is_command(word: &str) -> bool {
    matches!(word, "serve" | "help" | "routes")
}

/// `--out FILE` or `--out=FILE`, or nothing.
fn out_option(rest: &[&str]) -> std::result::Result<Option<PathBuf>, String> {
    match rest {
        [] => Ok(None),
        ["--out" | "-o", file] => Ok(Some(PathBuf::from(file))),
        [one] if one.starts_with("--out=") && one.len() > "--out=".len() => {
            Ok(Some(PathBuf::from(&one["--out=".len()..])))
        }
        ["--out" | "-o"] => Err("`--out` needs a file name".to_owned()),
        ["--out" | "-o", _, extra, ..] => Err(format!("unexpected argument `{extra}`")),
        [other, ..] => Err(format!(
            "unexpected argument `{other}` (expected `--out FILE`)"
        )),
    }
}

fn usage(name: &str) -> String {
    format!(
        "usage: {name} [COMMAND]

commands:
  serve                      serve the API (the default)
  routes                     list the routes, who may call them and their operation ids
  openapi [--out FILE]       write the OpenAPI document (JSON) to stdout or FILE
  config check               load and validate the configuration, then print it (secrets hidden)
  config schema [--out FILE] write the JSON Schema of the configuration
  help                       show this text

The configuration comes from flagstone.toml, flagstone.<profile>.toml, .env and
FLAGSTONE_* variables; FLAGSTONE_PROFILE picks the profile."
    )
}

/// Why a command failed.
#[derive(Debug)]
enum Failure {
    Config(ConfigError),
    App(crate::Error),
    Io(std::io::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::App(e) => write!(f, "{e:?}"),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

async fn serve<F, Fut>(build: F) -> std::result::Result<(), Failure>
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = Result<App>>,
{
    let config = Config::load().map_err(Failure::Config)?;
    telemetry::init(&config.logging);
    let app = build(App::new(config)).await.map_err(Failure::App)?;
    app.run().await.map_err(Failure::App)
}

/// The app built on an in-memory store: its OpenAPI document and where undocumented
/// routers were added.
async fn inspect<F, Fut>(
    build: F,
) -> std::result::Result<(utoipa::openapi::OpenApi, Vec<String>), Failure>
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = Result<App>>,
{
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k != "FLAGSTONE_DATABASE__URL")
        .collect();
    env.push(("FLAGSTONE_DATABASE__URL".to_owned(), "memory://".to_owned()));
    let config = ConfigLoader::new()
        .env(env)
        .load()
        .map_err(Failure::Config)?;
    let app = build(App::new(config)).await.map_err(Failure::App)?;
    Ok((app.openapi(), app.undocumented_routes()))
}

/// Writes `text` to `file`, or to `out` without one.
fn emit(
    out: &mut dyn Write,
    file: Option<&PathBuf>,
    text: &str,
    what: &str,
) -> std::result::Result<(), Failure> {
    match file {
        None => Ok(writeln!(out, "{text}")?),
        Some(path) => {
            std::fs::write(path, format!("{text}\n")).map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
            })?;
            Ok(writeln!(out, "wrote the {what} to {}", path.display())?)
        }
    }
}

/// One line per operation of `doc` (its JSON form): method, path, access, operation id;
/// then the routers the document does not cover.
fn write_routes(out: &mut dyn Write, doc: &Value, undocumented: &[String]) -> std::io::Result<()> {
    let rows = route_rows(doc);
    let width = |i: usize, title: &str| {
        rows.iter()
            .map(|r: &[String; 4]| r[i].len())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (m, p, a) = (width(0, "METHOD"), width(1, "PATH"), width(2, "AUTH"));
    writeln!(
        out,
        "{:m$}  {:p$}  {:a$}  OPERATION",
        "METHOD", "PATH", "AUTH"
    )?;
    for [method, path, auth, id] in &rows {
        writeln!(out, "{method:m$}  {path:p$}  {auth:a$}  {id}")?;
    }
    for location in undocumented {
        writeln!(
            out,
            "(undocumented routes added with App::routes at {location}: not listed)"
        )?;
    }
    Ok(())
}

/// `[method, path, auth, operation id]` for every operation, sorted by path then method.
/// `auth` is `public`, or the security schemes any of which admits the caller.
fn route_rows(doc: &Value) -> Vec<[String; 4]> {
    const METHODS: [&str; 8] = [
        "get", "post", "put", "patch", "delete", "head", "options", "trace",
    ];
    let global = doc.get("security");
    let mut rows = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return rows;
    };
    for (path, item) in paths {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let security = operation.get("security").or(global);
            let schemes: Vec<String> = security
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|requirement| requirement.keys().cloned())
                .collect();
            let auth = match schemes.is_empty() {
                true => "public".to_owned(),
                false => schemes.join("|"),
            };
            let id = operation
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("-");
            rows.push([method.to_uppercase(), path.clone(), auth, id.to_owned()]);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::prelude::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn arguments_parse_into_commands() {
        let parse = |words: &[&str]| Command::parse(&args(words));
        assert_eq!(parse(&[]), Ok(Command::Serve));
        assert_eq!(parse(&["routes", "--help"]), Ok(Command::Help));
        assert_eq!(
            parse(&["openapi", "--out", "api.json"]),
            Ok(Command::OpenApi {
                out: Some("api.json".into())
            })
        );
        assert_eq!(
            parse(&["config", "schema", "--out=s.json"]),
            Ok(Command::ConfigSchema {
                out: Some("s.json".into())
            })
        );
        assert!(parse(&["config"]).unwrap_err().contains("check"));
        assert!(
            parse(&["rotues"])
                .unwrap_err()
                .contains("unknown command `rotues`")
        );
        assert!(parse(&["routes", "x"]).unwrap_err().contains("unexpected"));
        assert!(
            parse(&["openapi", "--out"])
                .unwrap_err()
                .contains("file name")
        );
    }

    /// Answers `pong`.
    #[utoipa::path(get, path = "/ping", responses((status = 200, body = String)))]
    async fn ping() -> &'static str {
        "pong"
    }

    /// Needs a token.
    #[utoipa::path(post, path = "/secret", responses((status = 200, body = String)),
                   security(("bearer" = [])))]
    async fn secret() -> &'static str {
        "s"
    }

    async fn build(app: App) -> flagstone::Result<App> {
        Ok(app.api(
            OpenApiRouter::new()
                .routes(routes!(ping))
                .routes(routes!(secret)),
        ))
    }

    async fn call(words: &[&str]) -> (ExitCode, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with("demo", &args(words), build, &mut out, &mut err).await;
        let text = |v: Vec<u8>| String::from_utf8(v).unwrap();
        (code, text(out), text(err))
    }

    #[tokio::test]
    async fn routes_lists_each_operation_with_its_access() {
        let (code, out, _) = call(&["routes"]).await;
        assert_eq!(code, ExitCode::SUCCESS);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("METHOD"), "{out}");
        let ping = lines.iter().find(|l| l.contains("/api/v1/ping")).unwrap();
        assert!(ping.starts_with("GET") && ping.contains("public"), "{ping}");
        let secret = lines.iter().find(|l| l.contains("/api/v1/secret")).unwrap();
        assert!(
            secret.starts_with("POST") && secret.contains("bearer"),
            "{secret}"
        );
    }

    #[tokio::test]
    async fn openapi_and_schema_are_written_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("api.json");
        let (code, out, _) = call(&["openapi", "--out", file.to_str().unwrap()]).await;
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(out.contains("wrote the OpenAPI document"));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert!(doc["paths"]["/api/v1/ping"]["get"].is_object());

        let (code, out, _) = call(&["config", "schema"]).await;
        assert_eq!(code, ExitCode::SUCCESS);
        let schema: Value = serde_json::from_str(&out).unwrap();
        assert!(schema["properties"]["server"].is_object(), "{out}");
    }

    #[tokio::test]
    async fn bad_arguments_exit_with_2_and_the_usage() {
        let (code, out, err) = call(&["deploy"]).await;
        assert_eq!(code, ExitCode::from(2));
        assert!(out.is_empty());
        assert!(err.contains("unknown command `deploy`") && err.contains("usage: demo"));
        let (code, out, _) = call(&["--help"]).await;
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(out.contains("config schema"));
    }
}
