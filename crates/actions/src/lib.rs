//! The GitHub Actions runtime: step outputs (`$GITHUB_OUTPUT`), the job summary
//! (`$GITHUB_STEP_SUMMARY`), secret masks and annotations. Outside Actions, each call does
//! nothing, so steps run the same on a laptop.

use std::fs::OpenOptions;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::PathBuf;

/// Whether this process runs as a GitHub Actions step.
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

fn env_file(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn append(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// A delimiter that does not occur in `value`: GitHub ends a multi-line value at the first line
/// equal to the delimiter, so a value containing it could inject other outputs.
fn delimiter_for(value: &str) -> String {
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        let candidate = format!("ghadelimiter_{:016x}", h.finish());
        if !value.contains(&candidate) {
            return candidate;
        }
    }
}

/// The text appended to `$GITHUB_OUTPUT` for one output.
pub fn output_record(name: &str, value: &str) -> String {
    if value.contains('\n') || value.contains('\r') {
        let delimiter = delimiter_for(value);
        format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
    } else {
        format!("{name}={value}\n")
    }
}

/// A collapsed group in the Actions log around a long phase; it ends when dropped.
pub struct LogGroup(bool);

pub fn group(title: &str) -> LogGroup {
    let on = in_actions();
    if on {
        println!("::group::{}", escape_data(title));
    }
    LogGroup(on)
}

impl Drop for LogGroup {
    fn drop(&mut self) {
        if self.0 {
            println!("::endgroup::");
        }
    }
}

/// Set a step output, if there is a `$GITHUB_OUTPUT` to write to.
pub fn set_output(name: &str, value: &str) -> std::io::Result<()> {
    match env_file("GITHUB_OUTPUT") {
        Some(path) => write_output(&path, name, value),
        None => Ok(()),
    }
}

/// Append one output to an outputs file (`$GITHUB_OUTPUT`).
pub fn write_output(file: &std::path::Path, name: &str, value: &str) -> std::io::Result<()> {
    append(file, &output_record(name, value))
}

/// Append markdown to a job summary file, ending it with a newline.
pub fn write_summary(file: &std::path::Path, markdown: &str) -> std::io::Result<()> {
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    append(file, &text)
}

/// Append markdown to the job summary, if there is one.
pub fn append_summary(markdown: &str) -> std::io::Result<()> {
    match env_file("GITHUB_STEP_SUMMARY") {
        Some(path) => write_summary(&path, markdown),
        None => Ok(()),
    }
}

/// Tell the runner to hide `secret` in every later log line.
pub fn mask(secret: &str) {
    if in_actions() && !secret.is_empty() {
        for line in secret.lines().filter(|l| !l.is_empty()) {
            println!("::add-mask::{line}");
        }
    }
}

/// Escape the data part of a workflow command.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value of a workflow command.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// An error annotation on a file position, shown on the pull request's diff.
pub fn error_at(file: &str, line: usize, column: usize, title: &str, message: &str) {
    if in_actions() {
        println!(
            "::error file={},line={line},col={column},title={}::{}",
            escape_property(file),
            escape_property(title),
            escape_data(message)
        );
    }
}

/// A warning annotation without a position.
pub fn warning(message: &str) {
    if in_actions() {
        println!("::warning::{}", escape_data(message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_outputs_are_plain() {
        assert_eq!(output_record("digest", "sha256:abc"), "digest=sha256:abc\n");
    }

    #[test]
    fn multi_line_outputs_use_a_delimiter_not_in_the_value() {
        let record = output_record("plan", "line one\nline two");
        let (head, rest) = record.split_once('\n').expect("head");
        let delimiter = head.strip_prefix("plan<<").expect("heredoc");
        assert_eq!(rest, format!("line one\nline two\n{delimiter}\n"));
        let hostile = format!("x\n{delimiter}\nother=1");
        let record = output_record("plan", &hostile);
        let second = record
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("plan<<"))
            .expect("heredoc");
        assert_ne!(second, delimiter);
        assert!(!hostile.contains(second));
    }

    #[test]
    fn command_values_are_escaped() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
