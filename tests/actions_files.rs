//! The Actions runtime against real temporary `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` files,
//! read back the way GitHub's runner reads them.

mod support;

use paved::github::actions::{write_output, write_summary};
use support::runner_files::parse_outputs;

#[test]
fn outputs_round_trip_through_the_file_including_multi_line_and_hostile_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("output");
    let multi = "### plan\n| a | b |\n|---|---|\n\nlast line";
    // A value that carries an earlier output's delimiter and tries to smuggle in another output.
    write_output(&file, "first", "line one\nline two").expect("write");
    let written = std::fs::read_to_string(&file).expect("read");
    let delimiter = written
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("first<<"))
        .expect("a heredoc")
        .to_string();
    let hostile = format!("x\n{delimiter}\ninjected=yes\nEOF\ny");
    write_output(&file, "plan", multi).expect("write");
    write_output(&file, "hostile", &hostile).expect("write");
    write_output(&file, "digest", "sha256:abc=def").expect("write");
    write_output(&file, "empty", "").expect("write");

    let outputs = parse_outputs(&std::fs::read_to_string(&file).expect("read"));
    assert_eq!(outputs["first"], "line one\nline two");
    assert_eq!(outputs["plan"], multi);
    assert_eq!(outputs["hostile"], hostile);
    assert_eq!(outputs["digest"], "sha256:abc=def");
    assert_eq!(outputs["empty"], "");
    assert!(
        !outputs.contains_key("injected"),
        "a value cannot add outputs"
    );
    assert_eq!(outputs.len(), 5);
}

#[test]
fn the_summary_file_gets_each_piece_on_its_own_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("summary.md");
    write_summary(&file, "**build-image**: skipped").expect("write");
    write_summary(&file, "| a |\n|---|\n").expect("write");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "**build-image**: skipped\n| a |\n|---|\n"
    );
}
