//! Reading the files GitHub's runner reads after a step: `$GITHUB_OUTPUT` the way the runner
//! parses it (`name=value` lines and `name<<DELIMITER` blocks), so tests see what a workflow would.

use std::collections::BTreeMap;

/// The outputs a runner would read from an outputs file. Panics on a malformed file, as the
/// runner fails the step.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.insert(line[..e].to_string(), line[e + 1..].to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                let mut value = Vec::new();
                loop {
                    let next = lines
                        .next()
                        .unwrap_or_else(|| panic!("{name}: no closing {delimiter}"));
                    if next == delimiter {
                        break;
                    }
                    value.push(next);
                }
                out.insert(name.to_string(), value.join("\n"));
            }
            _ => panic!("malformed output line: {line:?}"),
        }
    }
    out
}
