//! The help of `paved` and of every subcommand, as users read it with `--help`.

use clap::CommandFactory;
use paved_cli::cli::Cli;

#[test]
fn help_texts() {
    let mut cmd = Cli::command();
    insta::assert_snapshot!("help_paved", cmd.render_long_help().to_string());
    for sub in [
        "plan",
        "render",
        "validate",
        "schema",
        "hash",
        "build-image",
        "apply-specs",
        "create-cluster",
        "switch-traffic",
        "teardown",
        "verify",
        "history",
        "prune-deployments",
        "deploy",
        "rollback",
        "iam-policy",
        "status",
        "token",
        "kubeconfig",
    ] {
        let mut sub_cmd = Cli::command()
            .find_subcommand(sub)
            .cloned()
            .expect("subcommand");
        insta::assert_snapshot!(
            format!("help_{sub}"),
            sub_cmd.render_long_help().to_string()
        );
    }
}
