//! `paved-switch-traffic`: the switch-traffic step on its own. All of it lives in the library.

use clap::Parser;

/// Move a kubeapp's DNS traffic to one color, in checked steps; a failing check restores it.
#[derive(Parser)]
#[command(
    name = "paved-switch-traffic",
    version,
    after_help = "Exit codes: 0 ok, 1 failed, refused or restored, 2 bad input."
)]
struct Cli {
    #[command(flatten)]
    args: paved::steps::switch_traffic::Args,
}

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(paved::steps::switch_traffic::execute(Cli::parse().args))
}
