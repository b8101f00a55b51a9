//! The `flagstone` command: scaffolding and inspection for Flagstone apps.

use clap::Parser;

/// Scaffolding and inspection for Flagstone apps.
#[derive(Debug, Parser)]
#[command(name = "flagstone", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!("flagstone {}: no command yet; see `flagstone --help`", env!("CARGO_PKG_VERSION"));
}
