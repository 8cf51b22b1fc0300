//! `.dockerignore` rules as Docker applies them (moby/patternmatcher), not as git does:
//! patterns are anchored at the context root, `*` and `?` never cross `/`, `**` spans any number
//! of directories, a pattern that matches a directory covers everything below it, `!` re-includes,
//! and the last matching pattern wins.

use std::path::Path;

/// One line of a .dockerignore.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    pattern: Vec<u8>,
    /// `!pattern`: re-include what earlier rules excluded.
    include: bool,
}

/// The rules of one .dockerignore file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

impl DockerIgnore {
    /// Parse the text of a .dockerignore.
    pub fn parse(text: &str) -> Self {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (include, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let cleaned = clean(pattern);
                (!cleaned.is_empty()).then(|| Rule {
                    pattern: cleaned.into_bytes(),
                    include,
                })
            })
            .collect();
        DockerIgnore { rules }
    }

    /// The rules that apply to a build: `<Dockerfile>.dockerignore` beside the Dockerfile wins
    /// over the context's `.dockerignore` (BuildKit's rule); neither means nothing is ignored.
    /// Returns the rules and the file they came from.
    pub fn for_build(
        context: &Path,
        dockerfile: Option<&Path>,
    ) -> std::io::Result<(Self, Option<std::path::PathBuf>)> {
        let mut candidates = Vec::new();
        if let Some(df) = dockerfile
            && let Some(name) = df.file_name()
        {
            let mut specific = name.to_os_string();
            specific.push(".dockerignore");
            candidates.push(df.with_file_name(specific));
        }
        candidates.push(context.join(".dockerignore"));
        for candidate in candidates {
            match std::fs::read_to_string(&candidate) {
                Ok(text) => return Ok((Self::parse(&text), Some(candidate))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok((Self::default(), None))
    }

    /// Whether a path (relative to the context, `/`-separated) is left out of the context.
    pub fn is_excluded(&self, path: &str) -> bool {
        let mut excluded = false;
        for rule in &self.rules {
            // Only a rule that could flip the verdict needs checking.
            if rule.include == excluded && matches_or_parent(&rule.pattern, path.as_bytes()) {
                excluded = !rule.include;
            }
        }
        excluded
    }

    /// Whether a directory's contents can be skipped without looking: it is excluded and no
    /// `!` rule could bring anything below it back.
    pub fn skips_dir(&self, path: &str) -> bool {
        self.is_excluded(path) && !self.rules.iter().any(|r| r.include)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Go's `filepath.Clean` on a slash path, with the leading `/` dropped (patterns are anchored
/// at the context root either way).
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Whether `pattern` matches `path` or one of its parent directories.
fn matches_or_parent(pattern: &[u8], path: &[u8]) -> bool {
    if glob(pattern, path) {
        return true;
    }
    path.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .any(|(i, _)| glob(pattern, &path[..i]))
}

/// Go `filepath.Match` semantics on `/`-separated paths, plus `**` for any number of directories.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some(b'*') if pattern.get(1) == Some(&b'*') => {
            let rest = &pattern[2..];
            if let Some(after_slash) = rest.strip_prefix(b"/") {
                // `**/x`: x at the start or after any `/`.
                glob(after_slash, text)
                    || text
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| **b == b'/')
                        .any(|(i, _)| glob(after_slash, &text[i + 1..]))
            } else {
                (0..=text.len()).any(|i| glob(rest, &text[i..]))
            }
        }
        Some(b'*') => {
            let rest = &pattern[1..];
            let limit = text.iter().position(|b| *b == b'/').unwrap_or(text.len());
            (0..=limit).any(|i| glob(rest, &text[i..]))
        }
        Some(b'?') => match text.first() {
            Some(c) if *c != b'/' => glob(&pattern[1..], &text[1..]),
            _ => false,
        },
        Some(b'[') => match (text.first(), class(&pattern[1..])) {
            (Some(c), Some((set, negated, len))) if *c != b'/' => {
                set.matches(*c) != negated && glob(&pattern[1 + len..], &text[1..])
            }
            _ => false,
        },
        Some(b'\\') if pattern.len() > 1 => {
            text.first() == Some(&pattern[1]) && glob(&pattern[2..], &text[1..])
        }
        Some(p) => text.first() == Some(p) && glob(&pattern[1..], &text[1..]),
    }
}

struct ByteSet(Vec<(u8, u8)>);

impl ByteSet {
    fn matches(&self, c: u8) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
    }
}

/// A `[...]` class after its `[`: the set, whether it is negated (`^`), and how many pattern
/// bytes it took (through the `]`). `None` for a malformed class, which matches nothing.
fn class(pattern: &[u8]) -> Option<(ByteSet, bool, usize)> {
    let mut i = 0;
    let negated = pattern.first() == Some(&b'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *pattern.get(i)?;
        if c == b']' && !first {
            return Some((ByteSet(ranges), negated, i + 1));
        }
        first = false;
        let lo = if c == b'\\' {
            i += 1;
            *pattern.get(i)?
        } else {
            c
        };
        i += 1;
        if pattern.get(i) == Some(&b'-') && pattern.get(i + 1).is_some_and(|b| *b != b']') {
            let mut hi = *pattern.get(i + 1)?;
            i += 2;
            if hi == b'\\' {
                hi = *pattern.get(i)?;
                i += 1;
            }
            ranges.push((lo, hi));
        } else {
            ranges.push((lo, lo));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(rules: &str, path: &str) -> bool {
        DockerIgnore::parse(rules).is_excluded(path)
    }

    #[test]
    fn patterns_are_anchored_at_the_root() {
        assert!(ignored("foo", "foo"));
        assert!(ignored("/foo", "foo"));
        assert!(
            !ignored("foo", "a/foo"),
            "not matched deeper, unlike .gitignore"
        );
        assert!(ignored("a/foo", "a/foo"));
    }

    #[test]
    fn star_does_not_cross_directories() {
        assert!(ignored("*.log", "x.log"));
        assert!(!ignored("*.log", "dir/x.log"));
        assert!(ignored("*/*.log", "dir/x.log"));
        assert!(!ignored("*/*.log", "a/b/x.log"));
    }

    #[test]
    fn double_star_spans_directories() {
        assert!(ignored("**/*.log", "x.log"));
        assert!(ignored("**/*.log", "a/b/x.log"));
        assert!(ignored("a/**/z", "a/z"));
        assert!(ignored("a/**/z", "a/b/c/z"));
        assert!(ignored("a/**", "a/b/c"));
        assert!(!ignored("a/**/z", "b/z"));
    }

    #[test]
    fn a_directory_pattern_covers_its_contents() {
        assert!(ignored("node_modules", "node_modules/x/y.js"));
        assert!(ignored("build/", "build/out.o"));
    }

    #[test]
    fn bang_re_includes_and_the_last_match_wins() {
        let rules = "*.md\n!README.md\n";
        assert!(ignored(rules, "CHANGES.md"));
        assert!(!ignored(rules, "README.md"));
        let rules = "docs\n!docs/keep.txt\n";
        assert!(ignored(rules, "docs/other.txt"));
        assert!(!ignored(rules, "docs/keep.txt"));
        let rules = "!README.md\n*.md\n";
        assert!(
            ignored(rules, "README.md"),
            "a later exclude wins over an earlier include"
        );
    }

    #[test]
    fn comments_blank_lines_question_marks_and_classes() {
        let rules = "# comment\n\n  file?.txt  \n[a-c].bin\n[^x]y\n";
        assert!(ignored(rules, "file1.txt"));
        assert!(!ignored(rules, "file10.txt"));
        assert!(ignored(rules, "b.bin"));
        assert!(!ignored(rules, "d.bin"));
        assert!(ignored(rules, "ay"));
        assert!(!ignored(rules, "xy"));
        assert!(!ignored(rules, "# comment"));
    }

    #[test]
    fn skipping_directories_is_safe_only_without_re_includes() {
        assert!(DockerIgnore::parse("target").skips_dir("target"));
        assert!(!DockerIgnore::parse("target\n!target/keep").skips_dir("target"));
    }
}
