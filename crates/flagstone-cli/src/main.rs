//! The `flagstone` command: scaffolding and inspection for Flagstone apps.

use clap::{CommandFactory, Parser};

/// Scaffolding and inspection for Flagstone apps.
#[derive(Debug, Parser)]
#[command(name = "flagstone", version, about, long_about = None)]
struct Cli {}

fn main() {
    Cli::parse();
    // No subcommands yet: show what there is.
    let _ = Cli::command().print_help();
}

#[cfg(test)]
mod tests {
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
}
