//! `paved-build-image`: the build-image step on its own. All of it lives in the library.

use clap::Parser;

/// Build and push a kubeapp's image, skipped when the registry already has its content hash.
#[derive(Parser)]
#[command(
    name = "paved-build-image",
    version,
    after_help = "Exit codes: 0 ok, 1 failed, 2 bad input."
)]
struct Cli {
    #[command(flatten)]
    args: paved::steps::build_image::Args,
}

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(paved::steps::build_image::execute(Cli::parse().args))
}
