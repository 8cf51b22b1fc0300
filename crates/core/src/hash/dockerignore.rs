//! `.dockerignore` exactly as Docker reads and applies it.
//!
//! Reading follows moby/patternmatcher's `ignorefile.ReadAll` (the reader both the docker CLI and
//! BuildKit use): a UTF-8 byte-order mark is dropped from the first line, a line whose first
//! byte is `#` is a comment (` #x` is a pattern), surrounding Unicode white space is trimmed, a
//! leading `!` marks an exception, the rest goes through Go's `filepath.Clean` and loses one
//! leading `/`.
//!
//! Each pattern then goes through `patternmatcher.New` (a lone `!` and anything Go's
//! `filepath.Match` calls a syntax error are refused) and its translation to a Go regular
//! expression (see [`super::goregexp`]): `*` and `?` stay within one path element and `?` is one
//! character, not one byte; `**` spans directories; `[...]` and `\` escapes are Go regexp syntax.
//! A pattern whose regular expression Go cannot compile makes Docker fail the build as soon as a
//! path reaches it; paved refuses it up front.
//!
//! Paths are decided the way the builders walk the context (`MatchesUsingParentResults`): each
//! entry is tested with the verdicts of its parent directory, patterns apply in order, the last
//! one that applies wins, and an excluded directory is entered only if an exception could bring
//! something below it back ([`Builder`] says by which rule).

use std::path::{Path, PathBuf};

use super::goregexp::{Regexp, RegexpError, decode_rune};

/// A line of a `.dockerignore` that Docker refuses, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct IgnoreError {
    pub kind: IgnoreErrorKind,
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters) where the pattern starts.
    pub column: usize,
    pub message: String,
    /// What to do about it.
    pub help: String,
}

/// How Docker treats the line paved refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreErrorKind {
    /// Docker refuses the file before sending anything (a lone `!`, a syntax error, a line
    /// too long to read).
    DockerRefuses,
    /// Docker accepts the file but fails the build as soon as a path reaches the pattern (its
    /// Go regular expression does not compile); paved refuses it up front.
    FailsWhenReached,
    /// Docker accepts the pattern; paved cannot match it exactly.
    Unsupported,
}

/// Why the ignore file of a build could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] IgnoreError),
}

/// Which builder's rule decides whether an excluded directory is entered to look for
/// exceptions below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// BuildKit (tonistiigi/fsutil `filterFS.Walk`): if any exception has a wildcard (`*`, `?`,
    /// `[`, `]`, `^`, `\`) once a trailing `/**` or `/*` is dropped, every excluded directory is
    /// entered; otherwise one is entered when an exception's text (without that trailing glob)
    /// lies below it. What paved hashes.
    BuildKit,
    /// The legacy builder of the docker CLI (moby/go-archive `TarWithOptions`): an excluded
    /// directory is entered only when an exception's literal text lies below it. Kept to
    /// compare with the docker CLI, the test oracle.
    Legacy,
}

#[derive(Debug, Clone)]
enum Kind {
    /// The path equals the pattern.
    Exact,
    /// Literal text then `**`: the path starts with the text.
    Prefix,
    /// `**` then literal text: the path ends with the text.
    Suffix,
    Regexp(Regexp),
}

/// One pattern after `patternmatcher.New`.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The cleaned pattern without its `!` (patternmatcher's `cleanedPattern`), as bytes.
    text: Vec<u8>,
    exception: bool,
    kind: Kind,
    /// Where it was written (1-based; 0 when not from a file).
    line: usize,
}

impl Pattern {
    /// Whether the pattern matches `path` itself (no parent directories).
    fn matches(&self, path: &[u8]) -> bool {
        match &self.kind {
            Kind::Exact => path == self.text.as_slice(),
            Kind::Prefix => path.starts_with(&self.text[..self.text.len().saturating_sub(2)]),
            Kind::Suffix => {
                let suffix = self.text.get(2..).unwrap_or_default();
                path.ends_with(suffix) || (suffix.first() == Some(&b'/') && path == &suffix[1..])
            }
            Kind::Regexp(re) => re.is_match(path),
        }
    }

    /// The pattern text with a trailing `/**`, then a trailing `/*`, removed (fsutil's
    /// `patternWithoutTrailingGlob`).
    fn without_trailing_glob(&self) -> &[u8] {
        let t = self.text.as_slice();
        let t = t.strip_suffix(b"/**").unwrap_or(t);
        t.strip_suffix(b"/*").unwrap_or(t)
    }

    pub fn is_exception(&self) -> bool {
        self.exception
    }

    pub fn line(&self) -> usize {
        self.line
    }

    /// The pattern as written after cleaning, with its `!`.
    pub fn display(&self) -> String {
        let bang = if self.exception { "!" } else { "" };
        format!("{bang}{}", String::from_utf8_lossy(&self.text))
    }
}

/// The patterns of one `.dockerignore` (or `<Dockerfile>.dockerignore`).
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

/// The verdicts of one directory, handed to its entries (patternmatcher's `MatchInfo`): for each
/// pattern, whether it matched the directory or one of its ancestors. Empty for the root.
pub type MatchInfo = Vec<bool>;

impl DockerIgnore {
    /// Read a `.dockerignore`'s bytes; `file` names it in errors.
    pub fn parse(bytes: &[u8], file: &Path) -> Result<Self, IgnoreError> {
        let mut patterns = Vec::new();
        for line in read_all(bytes, file)? {
            if let Some(p) = new_pattern(&line, file)? {
                patterns.push(p);
            }
        }
        Ok(DockerIgnore { patterns })
    }

    /// Patterns given as strings, one per entry, as `patternmatcher.New` takes them (no
    /// comment or `/` handling): for tests and callers that build lists themselves.
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Self, IgnoreError> {
        let file = Path::new("<patterns>");
        let mut out = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let line = Line {
                number: i + 1,
                column: 1,
                text: p.as_ref().as_bytes().to_vec(),
            };
            if let Some(p) = new_pattern(&line, file)? {
                out.push(p);
            }
        }
        Ok(DockerIgnore { patterns: out })
    }

    /// The rules that apply to a build: `<Dockerfile>.dockerignore` beside the Dockerfile wins
    /// over the context's `.dockerignore` (BuildKit's rule; the two are not merged); neither
    /// means nothing is excluded. Returns the rules and the file they came from.
    pub fn for_build(
        context: &Path,
        dockerfile: Option<&Path>,
    ) -> Result<(Self, Option<PathBuf>), IgnoreFileError> {
        let mut candidates = Vec::new();
        if let Some(df) = dockerfile
            && let Some(name) = df.file_name()
        {
            let mut specific = name.to_os_string();
            specific.push(".dockerignore");
            candidates.push(df.with_file_name(specific));
        }
        candidates.push(context.join(".dockerignore"));
        // `apps/x/./.dockerignore` reads better as `apps/x/.dockerignore`.
        let candidates = candidates
            .into_iter()
            .map(|c| c.components().collect::<PathBuf>());
        for candidate in candidates {
            match std::fs::read(&candidate) {
                Ok(bytes) => return Ok((Self::parse(&bytes, &candidate)?, Some(candidate))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(IgnoreFileError::Read {
                        path: candidate,
                        source,
                    });
                }
            }
        }
        Ok((Self::default(), None))
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern is an exception (`!`).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// patternmatcher's `MatchesUsingParentResults`: whether `path` (relative, `/`-separated) is
    /// excluded, given its parent directory's verdicts, and its own verdicts for its entries.
    ///
    /// A pattern the parent matched counts as matching without being tested. Otherwise a
    /// pattern is tested only if it could change the answer so far (an exclusion while the
    /// path is not excluded, an exception while it is); one that is skipped is not recorded as
    /// matching, so it is not inherited either.
    pub fn matches_using_parent_results(&self, path: &[u8], parent: &[bool]) -> (bool, MatchInfo) {
        let mut info = vec![false; self.patterns.len()];
        let excluded = self.decide(path, parent, Some(&mut info));
        (excluded, info)
    }

    /// [`Self::matches_using_parent_results`] without the verdicts, for paths that are not
    /// directories.
    pub fn excluded_given_parent(&self, path: &[u8], parent: &[bool]) -> bool {
        self.decide(path, parent, None)
    }

    fn decide(&self, path: &[u8], parent: &[bool], mut info: Option<&mut MatchInfo>) -> bool {
        let mut excluded = false;
        for (i, p) in self.patterns.iter().enumerate() {
            let mut m = !parent.is_empty() && parent.get(i).copied().unwrap_or(false);
            if !m {
                if p.exception != excluded {
                    continue;
                }
                m = p.matches(path);
                if !m && parent.is_empty() {
                    m = ancestors(path).any(|a| p.matches(a));
                }
            }
            if let Some(info) = info.as_deref_mut() {
                info[i] = m;
            }
            if m {
                excluded = !p.exception;
            }
        }
        excluded
    }

    /// patternmatcher's `MatchesOrParentMatches` (BuildKit's `Open`, the daemon's check of the
    /// Dockerfile): every pattern is tested against the path and each of its ancestors.
    pub fn matches_or_parent_matches(&self, path: &[u8]) -> bool {
        let path = go_clean(path);
        if path == b"." {
            return false;
        }
        let mut excluded = false;
        for p in &self.patterns {
            if p.exception != excluded {
                continue;
            }
            if p.matches(&path) || ancestors(&path).any(|a| p.matches(a)) {
                excluded = !p.exception;
            }
        }
        excluded
    }

    /// Whether a path is excluded when the context is walked from its root: its ancestors'
    /// verdicts are computed on the way down, as the walk would.
    pub fn excluded_in_walk(&self, path: &[u8]) -> bool {
        let ends = path
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'/')
            .map(|(i, _)| i)
            .chain(std::iter::once(path.len()));
        let mut info = Vec::new();
        let mut excluded = false;
        for end in ends {
            (excluded, info) = self.matches_using_parent_results(&path[..end], &info);
        }
        excluded
    }

    /// Whether the walk enters the excluded directory `dir` (to look for exceptions below it).
    pub fn enters_excluded_dir(&self, dir: &[u8], builder: Builder) -> bool {
        if !self.has_exceptions() {
            return false;
        }
        let mut dir_slash = dir.to_vec();
        dir_slash.push(b'/');
        let below = |text: &[u8]| {
            let mut t = text.to_vec();
            t.push(b'/');
            t.starts_with(&dir_slash)
        };
        let mut exceptions = self.patterns.iter().filter(|p| p.exception);
        match builder {
            Builder::BuildKit => {
                let wildcard = |p: &Pattern| {
                    p.without_trailing_glob()
                        .iter()
                        .any(|b| b"*[]?^\\".contains(b))
                };
                if self.patterns.iter().filter(|p| p.exception).any(wildcard) {
                    return true;
                }
                exceptions.any(|p| below(p.without_trailing_glob()))
            }
            Builder::Legacy => exceptions.any(|p| below(&p.text)),
        }
    }
}

/// The ancestors of a path, shortest first, as patternmatcher lists them: the prefixes of
/// `filepath.Dir(path)` at each `/`.
fn ancestors(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let parent_len = path.iter().rposition(|b| *b == b'/');
    let parent = parent_len.map_or(&path[..0], |i| &path[..i]);
    let has_parent = parent_len.is_some_and(|i| i > 0);
    let ends: Vec<usize> = if has_parent {
        parent
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'/')
            .map(|(i, _)| i)
            .chain(std::iter::once(parent.len()))
            .collect()
    } else {
        Vec::new()
    };
    ends.into_iter().map(move |e| &path[..e])
}

/// What `ignorefile.ReadAll` makes of a file's bytes: the pattern strings handed to
/// `patternmatcher.New` (exceptions keep their `!`), before any is checked.
pub fn read_all_patterns(bytes: &[u8], file: &Path) -> Result<Vec<Vec<u8>>, IgnoreError> {
    Ok(read_all(bytes, file)?.into_iter().map(|l| l.text).collect())
}

/// One pattern line after `ignorefile.ReadAll`.
struct Line {
    number: usize,
    column: usize,
    text: Vec<u8>,
}

/// Lines longer than this make Go's line scanner (and so Docker) fail.
const MAX_LINE: usize = 64 * 1024;

/// `ignorefile.ReadAll`.
fn read_all(bytes: &[u8], file: &Path) -> Result<Vec<Line>, IgnoreError> {
    let mut out = Vec::new();
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // A final newline ends the last line; it does not start an empty one.
    if bytes.ends_with(b"\n") || bytes.is_empty() {
        lines.pop();
    }
    for (i, raw) in lines.into_iter().enumerate() {
        let number = i + 1;
        if raw.len() >= MAX_LINE {
            return Err(IgnoreError {
                kind: IgnoreErrorKind::DockerRefuses,
                file: file.to_path_buf(),
                line: number,
                column: 1,
                message: format!("line longer than {} KiB", MAX_LINE / 1024),
                help: "Docker cannot read lines this long; split the pattern".into(),
            });
        }
        let mut line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if number == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.starts_with(b"#") {
            continue;
        }
        let trimmed = trim_space(line);
        if trimmed.is_empty() {
            continue;
        }
        let lead = line.len() - trim_start_space(line).len();
        let column = String::from_utf8_lossy(&line[..lead]).chars().count() + 1;
        let (invert, rest) = match trimmed.strip_prefix(b"!") {
            Some(rest) => (true, trim_space(rest)),
            None => (false, trimmed),
        };
        let mut pattern = Vec::new();
        if invert {
            pattern.push(b'!');
        }
        if !rest.is_empty() {
            let cleaned = go_clean(rest);
            let cleaned = match cleaned.strip_prefix(b"/") {
                Some(stripped) if cleaned.len() > 1 => stripped.to_vec(),
                _ => cleaned,
            };
            pattern.extend_from_slice(&cleaned);
        }
        out.push(Line {
            number,
            column,
            text: pattern,
        });
    }
    Ok(out)
}

/// `patternmatcher.New` for one pattern, then its translation, which Docker does on first use.
fn new_pattern(line: &Line, file: &Path) -> Result<Option<Pattern>, IgnoreError> {
    let err = |kind, message: String, help: &str| IgnoreError {
        kind,
        file: file.to_path_buf(),
        line: line.number,
        column: line.column,
        message,
        help: help.to_string(),
    };
    let p = trim_space(&line.text);
    if p.is_empty() {
        return Ok(None);
    }
    let p = go_clean(p);
    let (exception, text) = match p.strip_prefix(b"!") {
        Some(_) if p.len() == 1 => {
            return Err(err(
                IgnoreErrorKind::DockerRefuses,
                "illegal exclusion pattern: \"!\" (Docker refuses a lone `!`)".into(),
                "write the path to re-include after the `!`, or remove the line",
            ));
        }
        Some(rest) => (true, rest.to_vec()),
        None => (false, p),
    };
    let shown = String::from_utf8_lossy(&text).into_owned();
    if !match_syntax_ok(&text) {
        return Err(err(
            IgnoreErrorKind::DockerRefuses,
            format!("`{shown}`: syntax error in pattern (Docker refuses it)"),
            "a `[...]` class must be closed, must not be empty (`[]`), and `-` must join two \
             characters (`[a-z]`, not `[-]`, `[x-]` or `[a-b-c]`); a trailing `\\` escapes \
             nothing; write `\\[` for a literal `[`",
        ));
    }
    let kind = translate(&text).map_err(|e| match e {
        RegexpError::Invalid { .. } => err(
            IgnoreErrorKind::FailsWhenReached,
            format!(
                "`{shown}` is not a valid Go regular expression once translated ({e}): \
                 Docker fails the build when it reaches this pattern"
            ),
            "inside `[...]` ranges must go upwards (`[a-z]`, not `[z-a]`); after `\\` use \
             punctuation (`\\*`, `\\[`) rather than a letter or digit",
        ),
        RegexpError::Unsupported(what) => err(
            IgnoreErrorKind::Unsupported,
            format!("`{shown}` uses {what}, which paved cannot match exactly"),
            "write the characters out, e.g. `[a-z]` instead of `\\p{Ll}`",
        ),
    })?;
    Ok(Some(Pattern {
        text,
        exception,
        kind,
        line: line.number,
    }))
}

/// patternmatcher's `compile`: the pattern as a Go regular expression, or one of the three
/// shortcuts it takes instead.
fn translate(text: &[u8]) -> Result<Kind, RegexpError> {
    // Go's text/scanner reads runes (an invalid byte is U+FFFD) and drops a leading BOM.
    let mut runes = super::goregexp::go_runes(text);
    if runes.first() == Some(&'\u{FEFF}') {
        runes.remove(0);
    }
    #[derive(PartialEq)]
    enum Detected {
        Exact,
        Prefix,
        Suffix,
        Regexp,
    }
    let mut re = String::from("^");
    let mut detected = Detected::Exact;
    let mut k = 0;
    let mut i = 0;
    while k < runes.len() {
        let ch = runes[k];
        k += 1;
        match ch {
            '*' if runes.get(k) == Some(&'*') => {
                k += 1;
                // `**/` is read as `**`.
                if runes.get(k) == Some(&'/') {
                    k += 1;
                }
                if k == runes.len() {
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        re.push_str(".*");
                        detected = Detected::Regexp;
                    }
                } else {
                    re.push_str("(.*/)?");
                    detected = Detected::Regexp;
                }
                if i == 0 {
                    detected = Detected::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                detected = Detected::Regexp;
            }
            '?' => {
                re.push_str("[^/]");
                detected = Detected::Regexp;
            }
            // moby's escape table means `.+()|{}$`, but its bitmap cannot hold `|`, `{` or `}`
            // (their bits fall off a byte), so those three reach the regexp as they are.
            '.' | '+' | '(' | ')' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => match runes.get(k) {
                Some(&next) => {
                    re.push('\\');
                    re.push(next);
                    k += 1;
                    detected = Detected::Regexp;
                }
                None => re.push('\\'),
            },
            '[' | ']' => {
                re.push(ch);
                detected = Detected::Regexp;
            }
            _ => re.push(ch),
        }
        i += 1;
    }
    Ok(match detected {
        Detected::Exact => Kind::Exact,
        Detected::Prefix => Kind::Prefix,
        Detected::Suffix => Kind::Suffix,
        Detected::Regexp => {
            re.push('$');
            Kind::Regexp(Regexp::compile(&re)?)
        }
    })
}

/// Whether Go's `filepath.Match(pattern, ".")` returns no error: patternmatcher.New calls it
/// for that alone. Match stops at the first chunk that cannot match `.`, so a malformed class
/// after that point goes unnoticed (`x/**[` is accepted, `x[` is not).
fn match_syntax_ok(pattern: &[u8]) -> bool {
    go_match(pattern, b".").is_ok()
}

/// Go's `filepath.Match` on Unix; `Err` for `ErrBadPattern`.
fn go_match(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, ()> {
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing `*` matches the rest unless it holds a `/`.
            return Ok(!name.contains(&b'/'));
        }
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok && (!pattern.is_empty() || t.is_empty()) {
                    name = t;
                    continue 'chunks;
                }
                i += 1;
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Go's `scanChunk`: the leading `*`s (whether there were any), then up to the next `*`
/// outside brackets, and the rest.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let start = pattern
        .iter()
        .position(|b| *b != b'*')
        .unwrap_or(pattern.len());
    let p = &pattern[start..];
    let mut in_range = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' if i + 1 < p.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (start > 0, &p[..i], &p[i..])
}

/// Go's `matchChunk`: whether `chunk` matches a prefix of `s`, and the rest of `s`. Once the
/// match has failed the chunk is still parsed to the end, so its syntax errors are reported.
fn match_chunk<'s>(chunk: &[u8], mut s: &'s [u8]) -> Result<(&'s [u8], bool), ()> {
    let mut failed = false;
    let mut c = chunk;
    while let Some(&first) = c.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match first {
            b'[' => {
                let mut r = 0u32;
                if !failed {
                    let (rune, n) = decode_rune(s);
                    r = rune as u32;
                    s = &s[n..];
                }
                c = &c[1..];
                let negated = c.first() == Some(&b'^');
                if negated {
                    c = &c[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if c.first() == Some(&b']') && ranges > 0 {
                        c = &c[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(c).ok_or(())?;
                    c = rest;
                    let mut hi = lo;
                    if c.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&c[1..]).ok_or(())?;
                        hi = h;
                        c = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                }
                c = &c[1..];
            }
            _ => {
                if first == b'\\' {
                    c = &c[1..];
                    if c.is_empty() {
                        return Err(());
                    }
                }
                if !failed {
                    if c[0] != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                c = &c[1..];
            }
        }
    }
    if failed {
        return Ok((&s[..0], false));
    }
    Ok((s, true))
}

/// Go's `getEsc`: one character of a bracket expression and the rest; `None` where Go reports
/// a syntax error.
fn get_esc(chunk: &[u8]) -> Option<(u32, &[u8])> {
    let mut c = chunk;
    match c.first() {
        None | Some(b'-') | Some(b']') => return None,
        Some(b'\\') => {
            c = &c[1..];
            if c.is_empty() {
                return None;
            }
        }
        _ => {}
    }
    let (r, width) = decode_rune(c);
    if r == char::REPLACEMENT_CHARACTER && width == 1 {
        return None;
    }
    let rest = &c[width..];
    (!rest.is_empty()).then_some((r as u32, rest))
}

/// Go's `strings.TrimSpace` on bytes (Unicode white space; an invalid byte is not space).
fn trim_space(b: &[u8]) -> &[u8] {
    let mut runes = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let (c, w) = decode_rune(&b[i..]);
        runes.push((i, w, c.is_whitespace()));
        i += w;
    }
    let Some(first) = runes.iter().position(|r| !r.2) else {
        return &b[..0];
    };
    let last = runes.iter().rposition(|r| !r.2).unwrap_or(first);
    &b[runes[first].0..runes[last].0 + runes[last].1]
}

fn trim_start_space(b: &[u8]) -> &[u8] {
    let mut start = 0;
    while start < b.len() {
        let (c, w) = decode_rune(&b[start..]);
        if !c.is_whitespace() {
            break;
        }
        start += w;
    }
    &b[start..]
}

/// Go's `filepath.Clean` on a Unix path, as bytes.
pub fn go_clean(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b".".to_vec();
    }
    let rooted = path[0] == b'/';
    let n = path.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if path[r] == b'/' || (path[r] == b'.' && (r + 1 == n || path[r + 1] == b'/')) {
            // An empty element or `.`.
            r += 1;
        } else if path[r] == b'.'
            && path.get(r + 1) == Some(&b'.')
            && (r + 2 == n || path[r + 2] == b'/')
        {
            r += 2;
            if out.len() > dotdot {
                out.pop();
                while out.len() > dotdot && out.last() != Some(&b'/') {
                    out.pop();
                }
                if out.len() > dotdot {
                    // Drop the separator before the removed element too.
                    out.pop();
                }
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && path[r] != b'/' {
                out.push(path[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return b".".to_vec();
    }
    out
}
