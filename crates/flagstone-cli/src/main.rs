//! The `flagstone` command: scaffolding and inspection for Flagstone apps.
//!
//! - `flagstone new NAME` writes a project in the layered layout;
//! - `flagstone generate resource | service | middleware` adds a module to it;
//! - `flagstone routes | openapi | config` run the app binary's own inspection commands
//!   (`cargo run -- routes`, see `flagstone::cli`).

mod files;
mod generate;
mod names;
mod project;
mod render;
#[cfg(test)]
mod snapshots_test;
mod spec;

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Args, Parser, Subcommand};

use crate::{files::colour, project::Dependency, render::Renderer};

/// Scaffolding and inspection for Flagstone apps.
#[derive(Debug, Parser)]
#[command(name = "flagstone", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a project: layered src/, flagstone.toml, tests, Dockerfile and CI workflow.
    New(NewArgs),
    /// Add a resource, a service or a middleware to the project.
    #[command(subcommand)]
    Generate(Generate),
    /// List the app's routes and who may call them (runs `cargo run -- routes`).
    Routes(Passthrough),
    /// Write the app's OpenAPI document (runs `cargo run -- openapi [--out FILE]`).
    Openapi(Passthrough),
    /// Check the configuration or print its JSON Schema (runs `cargo run -- config check|schema`).
    Config(Passthrough),
}

#[derive(Debug, Args)]
struct NewArgs {
    /// The package name: lower-case letters, digits, `-` and `_`.
    name: String,
    /// The project's folder [default: ./NAME].
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Depend on a local Flagstone checkout (its root or crates/flagstone) instead of the
    /// crates.io release. Also read from the `FLAGSTONE_PATH` variable.
    #[arg(long, value_name = "DIR")]
    flagstone_path: Option<PathBuf>,
    /// Write into a folder that is not empty, overwriting the files the project needs.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Subcommand)]
enum Generate {
    /// A resource: its model, its hooks service, its routes and an HTTP test.
    #[command(after_long_help = RESOURCE_HELP)]
    Resource {
        /// The resource's name, singular: `book`, `blog_post`, `BlogPost`.
        name: String,
        /// Fields as `name:type[:modifier...]`, e.g. `title:string:unique:filter:sort`.
        #[arg(value_name = "FIELD")]
        fields: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    /// A service: business rules over the store, with no HTTP types.
    Service {
        /// The service's name: `billing`, `publishing`.
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// A middleware function for route groups.
    Middleware {
        /// The middleware's name: `audit`, `require_tenant`.
        name: String,
        #[command(flatten)]
        target: Target,
    },
}

const RESOURCE_HELP: &str = "Field types:
  string  text  int  float  bool  datetime  enum(a|b|c)  ref(Model)
  [type]     an array of it            type?      optional
Modifiers:
  unique  filter  sort  select  hidden  read_only  write_only

Example (quote the parentheses for the shell):
  flagstone generate resource book title:string:unique:filter:sort \\
      'author:ref(Author):filter' 'genres:[enum(fiction|poetry)]' pages:int? published_at:datetime?:sort";

#[derive(Debug, Args)]
struct Target {
    /// The project's folder [default: the current folder].
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Overwrite files that exist already.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct Passthrough {
    /// The project's folder [default: the current folder].
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Arguments for the app's command, e.g. `--out openapi.json` or `check`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// A failure, with the exit status it gives.
struct Failure {
    message: String,
    status: u8,
}

impl Failure {
    /// Bad arguments: status 2, as clap's own errors.
    fn usage(message: String) -> Self {
        Self { message, status: 2 }
    }

    /// Anything else: status 1.
    fn other(message: String) -> Self {
        Self { message, status: 1 }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout();
    match run(cli, &mut stdout, colour(&std::io::stdout())) {
        Ok(code) => code,
        Err(failure) => {
            let prefix = match colour(&std::io::stderr()) {
                true => "\x1b[1;31merror:\x1b[0m",
                false => "error:",
            };
            eprintln!("{prefix} {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}

fn run(cli: Cli, out: &mut dyn Write, colour: bool) -> Result<ExitCode, Failure> {
    let renderer = Renderer::new().map_err(Failure::other)?;
    let io = |e: std::io::Error| Failure::other(e.to_string());
    match cli.command {
        Command::New(args) => {
            let dir = args.path.unwrap_or_else(|| PathBuf::from(&args.name));
            let local = args
                .flagstone_path
                .or_else(|| std::env::var_os("FLAGSTONE_PATH").map(PathBuf::from));
            let dependency = match &local {
                Some(path) => Dependency::local(path).map_err(Failure::usage)?,
                None => Dependency::Release,
            };
            let plan = project::plan(&renderer, &args.name, &dependency).map_err(Failure::usage)?;
            project::check_target(&dir, args.force).map_err(Failure::other)?;
            let outcomes = plan.apply(&dir, args.force).map_err(Failure::other)?;
            files::report(out, &prefixed(&dir, outcomes), colour).map_err(io)?;
            writeln!(
                out,
                "\nnext:\n  cd {}\n  cargo run      # http://127.0.0.1:3000/docs\n  cargo test",
                dir.display()
            )
            .map_err(io)?;
        }
        Command::Generate(generate) => {
            let (plan, target) = match &generate {
                Generate::Resource {
                    name,
                    fields,
                    target,
                } => {
                    let root = root_of(target)?;
                    (generate::resource(&renderer, &root, name, fields), target)
                }
                Generate::Service { name, target } => {
                    let root = root_of(target)?;
                    (generate::service(&renderer, &root, name), target)
                }
                Generate::Middleware { name, target } => {
                    let root = root_of(target)?;
                    (generate::middleware(&renderer, &root, name), target)
                }
            };
            let plan = plan.map_err(Failure::usage)?;
            let root = root_of(target)?;
            let outcomes = plan.apply(&root, target.force).map_err(Failure::other)?;
            files::report(out, &prefixed(&root, outcomes), colour).map_err(io)?;
        }
        Command::Routes(p) => return passthrough("routes", p),
        Command::Openapi(p) => return passthrough("openapi", p),
        Command::Config(p) => return passthrough("config", p),
    }
    Ok(ExitCode::SUCCESS)
}

/// The project root of a generate command, checked.
fn root_of(target: &Target) -> Result<PathBuf, Failure> {
    let root = target.path.clone().unwrap_or_default();
    generate::project_root(&root).map_err(Failure::usage)?;
    Ok(root)
}

/// Paths as the user would type them: under `dir`.
fn prefixed(
    dir: &Path,
    outcomes: Vec<(PathBuf, files::Outcome)>,
) -> Vec<(PathBuf, files::Outcome)> {
    outcomes
        .into_iter()
        .map(|(path, outcome)| (dir.join(path), outcome))
        .collect()
}

/// Runs `cargo run --quiet -- COMMAND ARGS` in the project, and exits as it does.
fn passthrough(command: &str, p: Passthrough) -> Result<ExitCode, Failure> {
    let root = p.path.unwrap_or_default();
    if !root.join("Cargo.toml").is_file() {
        return Err(Failure::usage(format!(
            "no Cargo.toml in {}: run this in the app's folder, or pass --path",
            match root.as_os_str().is_empty() {
                true => ".".to_owned(),
                false => root.display().to_string(),
            }
        )));
    }
    let mut cargo = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()));
    cargo
        .args(["run", "--quiet", "--"])
        .arg(command)
        .args(&p.args);
    if !root.as_os_str().is_empty() {
        cargo.current_dir(&root);
    }
    let status = cargo
        .status()
        .map_err(|e| Failure::other(format!("cannot run cargo: {e}")))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_and_help_are_answered() {
        let version = Cli::try_parse_from(["flagstone", "--version"]).unwrap_err();
        assert_eq!(version.kind(), clap::error::ErrorKind::DisplayVersion);
        assert!(version.to_string().contains(env!("CARGO_PKG_VERSION")));
        let help = Cli::try_parse_from(["flagstone", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        let unknown = Cli::try_parse_from(["flagstone", "--nope"]).unwrap_err();
        assert_eq!(unknown.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn every_command_has_help() {
        for words in [
            &["flagstone", "new", "--help"][..],
            &["flagstone", "generate", "--help"],
            &["flagstone", "generate", "resource", "--help"],
            &["flagstone", "generate", "service", "--help"],
            &["flagstone", "generate", "middleware", "--help"],
            &["flagstone", "routes", "--help"],
        ] {
            let e = Cli::try_parse_from(words).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{words:?}");
        }
        let e = Cli::try_parse_from(["flagstone", "generate", "resource", "--help"]).unwrap_err();
        assert!(e.to_string().contains("enum(a|b|c)"));
        let e = Cli::try_parse_from(["flagstone", "new"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let e = Cli::try_parse_from(["flagstone", "generate", "model", "x"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidSubcommand);
    }
}
