//! `paved-create-cluster`: the create-cluster step on its own. All of it lives in the library.

use clap::Parser;

/// Create (or adopt) a kubeapp's EKS cluster of one color, its nodegroups and their tags.
#[derive(Parser)]
#[command(
    name = "paved-create-cluster",
    version,
    after_help = "Exit codes: 0 ok, 1 failed, 2 bad input."
)]
struct Cli {
    #[command(flatten)]
    args: paved::steps::create_cluster::Args,
}

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(paved::steps::create_cluster::execute(Cli::parse().args))
}
