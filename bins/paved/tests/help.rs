//! The help of `paved` and of every subcommand, as users read it with `--help`.

use clap::CommandFactory;
use paved_cli::cli::Cli;

#[test]
fn help_texts() {
    let mut cmd = Cli::command();
    insta::assert_snapshot!("help_paved", cmd.render_long_help().to_string());
    // Every subcommand, so a new one cannot go without its help snapshot.
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .filter(|n| n != "help")
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    for sub in &names {
        let mut sub_cmd = Cli::command()
            .find_subcommand(sub.as_str())
            .cloned()
            .expect("subcommand");
        insta::assert_snapshot!(
            format!("help_{sub}"),
            sub_cmd.render_long_help().to_string()
        );
    }
}
