//! `paved-teardown`: the teardown step on its own. All of it lives in the library.

use clap::Parser;

/// Delete one color of a kubeapp: Services with load balancers, nodegroups, cluster, DNS record.
#[derive(Parser)]
#[command(
    name = "paved-teardown",
    version,
    after_help = "Exit codes: 0 ok (also when already gone), 1 failed or refused, 2 bad input."
)]
struct Cli {
    #[command(flatten)]
    args: paved::steps::teardown::Args,
}

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(paved::steps::teardown::execute(Cli::parse().args))
}
