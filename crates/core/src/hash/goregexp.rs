//! The part of Go's `regexp` package that a `.dockerignore` pattern can reach.
//!
//! moby/patternmatcher turns each pattern into a Go regular expression (RE2 syntax with Go's
//! Perl flags: `^`/`$` anchor the whole text, `.` stops at `\n`, a negated class does not) and
//! asks Go's engine. Whatever a pattern writes inside `[...]` or after a `\` goes to that engine
//! untouched, so `\d` is a digit, `[[:alpha:]]` a POSIX class and `[z-a]` an error. This module
//! parses that syntax with Go's rules and matches the way Go does: rune by rune, an invalid UTF-8
//! byte reading as U+FFFD. Unicode class escapes (`\pL`, `\p{Greek}`) need Unicode tables paved
//! does not carry; they are refused as unsupported rather than guessed.

use std::fmt;

/// Why Go's parser (or paved) refuses an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexpError {
    /// Go refuses it; the text is Go's error code description and the offending part.
    Invalid { code: &'static str, expr: String },
    /// Go accepts it, paved cannot match it faithfully.
    Unsupported(String),
}

impl fmt::Display for RegexpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegexpError::Invalid { code, expr } => write!(f, "{code}: `{expr}`"),
            RegexpError::Unsupported(what) => write!(f, "{what}"),
        }
    }
}

impl std::error::Error for RegexpError {}

fn invalid(code: &'static str, expr: &str) -> RegexpError {
    RegexpError::Invalid {
        code,
        expr: expr.to_string(),
    }
}

/// Ranges of code points, inclusive, sorted and merged.
type Ranges = Vec<(u32, u32)>;

const MAX_RUNE: u32 = 0x10_FFFF;

#[derive(Debug, Clone)]
enum Node {
    Class(Ranges),
    AnyNotNewline,
    BeginText,
    EndText,
    WordBoundary,
    NotWordBoundary,
    Concat(Vec<Node>),
    Alternate(Vec<Node>),
    Star(Box<Node>),
    Plus(Box<Node>),
    Quest(Box<Node>),
    /// `{min}`, `{min,}` (max `None`), `{min,max}`.
    Repeat(Box<Node>, u32, Option<u32>),
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Regexp {
    prog: Vec<Inst>,
}

#[derive(Debug, Clone)]
enum Inst {
    Class(Ranges),
    AnyNotNewline,
    Split(usize, usize),
    Jmp(usize),
    Look(Look),
    Match,
}

#[derive(Debug, Clone, Copy)]
enum Look {
    BeginText,
    EndText,
    WordBoundary,
    NotWordBoundary,
}

impl Regexp {
    /// Parse `expr` as Go's `regexp.Compile` would.
    pub fn compile(expr: &str) -> Result<Regexp, RegexpError> {
        let node = Parser { whole: expr }.parse(expr)?;
        let mut prog = Vec::new();
        emit(&node, &mut prog);
        prog.push(Inst::Match);
        Ok(Regexp { prog })
    }

    /// Go's `MatchString`: whether the expression matches anywhere in `text`.
    pub fn is_match(&self, text: &[u8]) -> bool {
        let runes = go_runes(text);
        let n = self.prog.len();
        let mut current = Threads::new(n);
        let mut next = Threads::new(n);
        for pos in 0..=runes.len() {
            // Unanchored search: a new thread may start at every position.
            self.add(&mut current, 0, pos, &runes);
            if current
                .list
                .iter()
                .any(|&pc| matches!(self.prog[pc], Inst::Match))
            {
                return true;
            }
            let Some(&c) = runes.get(pos) else { break };
            next.clear();
            for i in 0..current.list.len() {
                let pc = current.list[i];
                let step = match &self.prog[pc] {
                    Inst::Class(ranges) => in_ranges(ranges, c as u32),
                    Inst::AnyNotNewline => c != '\n',
                    _ => false,
                };
                if step {
                    self.add(&mut next, pc + 1, pos + 1, &runes);
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        false
    }

    /// Follow jumps, splits and zero-width checks from `pc` at `pos`, adding the instructions
    /// that consume a rune (or match) to `threads`.
    fn add(&self, threads: &mut Threads, pc: usize, pos: usize, runes: &[char]) {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if !threads.insert(pc) {
                continue;
            }
            match &self.prog[pc] {
                Inst::Jmp(to) => stack.push(*to),
                Inst::Split(a, b) => {
                    // Order does not change whether something matches.
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Look(look) => {
                    if look_holds(*look, pos, runes) {
                        stack.push(pc + 1);
                    }
                }
                Inst::Class(_) | Inst::AnyNotNewline | Inst::Match => threads.list.push(pc),
            }
        }
    }
}

/// A set of program counters, in insertion order.
struct Threads {
    seen: Vec<bool>,
    list: Vec<usize>,
    touched: Vec<usize>,
}

impl Threads {
    fn new(n: usize) -> Self {
        Threads {
            seen: vec![false; n],
            list: Vec::new(),
            touched: Vec::new(),
        }
    }
    fn insert(&mut self, pc: usize) -> bool {
        if self.seen[pc] {
            return false;
        }
        self.seen[pc] = true;
        self.touched.push(pc);
        true
    }
    fn clear(&mut self) {
        for pc in self.touched.drain(..) {
            self.seen[pc] = false;
        }
        self.list.clear();
    }
}

fn look_holds(look: Look, pos: usize, runes: &[char]) -> bool {
    let word = |i: Option<usize>| {
        i.and_then(|i| runes.get(i))
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
    };
    let boundary = || word(pos.checked_sub(1)) != word(Some(pos));
    match look {
        Look::BeginText => pos == 0,
        Look::EndText => pos == runes.len(),
        Look::WordBoundary => boundary(),
        Look::NotWordBoundary => !boundary(),
    }
}

fn emit(node: &Node, prog: &mut Vec<Inst>) {
    match node {
        Node::Class(r) => prog.push(Inst::Class(r.clone())),
        Node::AnyNotNewline => prog.push(Inst::AnyNotNewline),
        Node::BeginText => prog.push(Inst::Look(Look::BeginText)),
        Node::EndText => prog.push(Inst::Look(Look::EndText)),
        Node::WordBoundary => prog.push(Inst::Look(Look::WordBoundary)),
        Node::NotWordBoundary => prog.push(Inst::Look(Look::NotWordBoundary)),
        Node::Concat(items) => items.iter().for_each(|n| emit(n, prog)),
        Node::Star(sub) => {
            let split = prog.len();
            prog.push(Inst::Split(0, 0));
            emit(sub, prog);
            prog.push(Inst::Jmp(split));
            let after = prog.len();
            prog[split] = Inst::Split(split + 1, after);
        }
        Node::Plus(sub) => {
            let start = prog.len();
            emit(sub, prog);
            let after = prog.len() + 1;
            prog.push(Inst::Split(start, after));
        }
        Node::Quest(sub) => {
            let split = prog.len();
            prog.push(Inst::Split(0, 0));
            emit(sub, prog);
            let after = prog.len();
            prog[split] = Inst::Split(split + 1, after);
        }
        Node::Alternate(alts) => {
            // Split to each alternative in turn; each jumps to the end when done.
            let mut jumps = Vec::new();
            for (i, alt) in alts.iter().enumerate() {
                let split = prog.len();
                if i + 1 < alts.len() {
                    prog.push(Inst::Split(0, 0));
                }
                emit(alt, prog);
                if i + 1 < alts.len() {
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat(sub, min, max) => {
            for _ in 0..*min {
                emit(sub, prog);
            }
            match max {
                None => emit(&Node::Star(sub.clone()), prog),
                Some(max) => {
                    for _ in *min..*max {
                        emit(&Node::Quest(sub.clone()), prog);
                    }
                }
            }
        }
    }
}

/// The runes of `text` as Go's range loop and regexp engine see them: each byte that does not
/// start a valid UTF-8 sequence is one U+FFFD.
pub fn go_runes(text: &[u8]) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let (c, width) = decode_rune(&text[i..]);
        out.push(c);
        i += width;
    }
    out
}

/// Go's `utf8.DecodeRune`: the first rune and its width; (U+FFFD, 1) for an invalid byte.
pub fn decode_rune(bytes: &[u8]) -> (char, usize) {
    let Some(&first) = bytes.first() else {
        return (char::REPLACEMENT_CHARACTER, 0);
    };
    let width = match first {
        0x00..=0x7F => return (char::from(first), 1),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    match bytes
        .get(..width)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.chars().next())
    {
        Some(c) => (c, width),
        None => (char::REPLACEMENT_CHARACTER, 1),
    }
}

fn in_ranges(ranges: &[(u32, u32)], c: u32) -> bool {
    // Ranges are sorted and disjoint.
    let i = ranges.partition_point(|&(_, hi)| hi < c);
    ranges.get(i).is_some_and(|&(lo, _)| lo <= c)
}

fn clean_ranges(mut r: Ranges) -> Ranges {
    r.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(r.len());
    for (lo, hi) in r {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn negate(r: &[(u32, u32)]) -> Ranges {
    let mut out = Vec::new();
    let mut next = 0u32;
    for &(lo, hi) in r {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = hi.saturating_add(1);
    }
    if next <= MAX_RUNE {
        out.push((next, MAX_RUNE));
    }
    out
}

/// Go's Perl classes (`\d` and friends: ASCII only) and POSIX classes (`[:alpha:]`).
fn perl_group(name: &str) -> Option<(bool, &'static [(u32, u32)])> {
    const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
    const SPACE: &[(u32, u32)] = &[(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)];
    const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];
    Some(match name {
        r"\d" => (true, DIGIT),
        r"\D" => (false, DIGIT),
        r"\s" => (true, SPACE),
        r"\S" => (false, SPACE),
        r"\w" => (true, WORD),
        r"\W" => (false, WORD),
        _ => return None,
    })
}

fn posix_group(name: &str) -> Option<(bool, &'static [(u32, u32)])> {
    let (positive, bare) = match name.strip_prefix("[:^") {
        Some(rest) => (false, rest),
        None => (true, name.strip_prefix("[:")?),
    };
    let table: &'static [(u32, u32)] = match bare.strip_suffix(":]")? {
        "alnum" => &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
        "alpha" => &[(0x41, 0x5A), (0x61, 0x7A)],
        "ascii" => &[(0x00, 0x7F)],
        "blank" => &[(0x09, 0x09), (0x20, 0x20)],
        "cntrl" => &[(0x00, 0x1F), (0x7F, 0x7F)],
        "digit" => &[(0x30, 0x39)],
        "graph" => &[(0x21, 0x7E)],
        "lower" => &[(0x61, 0x7A)],
        "print" => &[(0x20, 0x7E)],
        "punct" => &[(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
        "space" => &[(0x09, 0x0D), (0x20, 0x20)],
        "upper" => &[(0x41, 0x5A)],
        "word" => &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
        "xdigit" => &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
        _ => return None,
    };
    Some((positive, table))
}

fn push_group(class: &mut Ranges, positive: bool, table: &[(u32, u32)]) {
    if positive {
        class.extend_from_slice(table);
    } else {
        class.extend(negate(table));
    }
}

fn first_char(s: &str) -> Option<char> {
    s.chars().next()
}

struct Parser<'a> {
    whole: &'a str,
}

/// One level of the parse: the alternatives of the current group.
#[derive(Default)]
struct Frame {
    /// Finished alternatives (before a `|`).
    alternatives: Vec<Node>,
    /// The alternative being read.
    items: Vec<Node>,
    /// Whether the last token was a repetition operator (Go refuses `a**`).
    last_repeat: bool,
    /// Where the group's `(` was, for errors.
    open_at: usize,
}

impl Frame {
    fn finish(mut self) -> Node {
        if self.alternatives.is_empty() {
            return Node::Concat(self.items);
        }
        self.alternatives.push(Node::Concat(self.items));
        Node::Alternate(self.alternatives)
    }
}

/// Go's parseRepeat: `{n}`, `{n,}` or `{n,m}` at the start of `s`, with what follows. `None`
/// when `s` is not of that form (then `{` is a literal). A number too big reads as -1.
fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
    let s = s.strip_prefix('{')?;
    let (min, s) = parse_int(s)?;
    let (max, s) = match s.strip_prefix(',') {
        None => (min, s),
        Some(rest) if rest.starts_with('}') => (-1, rest),
        Some(rest) => parse_int(rest)?,
    };
    let min = if max < -1 { -1 } else { min };
    let rest = s.strip_prefix('}')?;
    Some((min, max, rest))
}

fn parse_int(s: &str) -> Option<(i64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits >= 2 && s.starts_with('0')) {
        return None;
    }
    let mut n: i64 = 0;
    for b in s[..digits].bytes() {
        if n >= 100_000_000 {
            // Go marks a number this big as -2 here so that the caller reports it.
            n = -2;
            break;
        }
        n = n * 10 + i64::from(b - b'0');
    }
    Some((n, &s[digits..]))
}

impl Parser<'_> {
    fn parse(&self, s: &str) -> Result<Node, RegexpError> {
        let mut stack: Vec<Frame> = vec![Frame::default()];
        let mut t = s;
        while let Some(c) = first_char(t) {
            let at = s.len() - t.len();
            let mut repeated = false;
            match c {
                '(' => {
                    if t.starts_with("(?") {
                        return Err(RegexpError::Unsupported("Go's flag groups `(?...)`".into()));
                    }
                    stack.push(Frame {
                        open_at: at,
                        ..Frame::default()
                    });
                    t = &t[1..];
                }
                ')' => {
                    if stack.len() < 2 {
                        return Err(invalid("unexpected )", self.whole));
                    }
                    let group = stack.pop().unwrap_or_default().finish();
                    self.top(&mut stack).items.push(group);
                    t = &t[1..];
                }
                '|' => {
                    let frame = self.top(&mut stack);
                    let items = std::mem::take(&mut frame.items);
                    frame.alternatives.push(Node::Concat(items));
                    t = &t[1..];
                }
                '^' => {
                    self.top(&mut stack).items.push(Node::BeginText);
                    t = &t[1..];
                }
                '$' => {
                    self.top(&mut stack).items.push(Node::EndText);
                    t = &t[1..];
                }
                '.' => {
                    self.top(&mut stack).items.push(Node::AnyNotNewline);
                    t = &t[1..];
                }
                '[' => {
                    let (class, rest) = self.parse_class(t)?;
                    self.top(&mut stack).items.push(Node::Class(class));
                    t = rest;
                }
                '*' | '+' | '?' | '{' => {
                    let (min, max, after) = if c == '{' {
                        match parse_repeat(t) {
                            None => {
                                // Not a repetition: a literal `{`.
                                self.top(&mut stack).items.push(literal('{'));
                                t = &t[1..];
                                self.top(&mut stack).last_repeat = false;
                                continue;
                            }
                            Some((min, max, after)) => {
                                let spelled = &t[..t.len() - after.len()];
                                if !(0..=1000).contains(&min)
                                    || max > 1000
                                    || (max >= 0 && min > max)
                                {
                                    return Err(invalid("invalid repeat count", spelled));
                                }
                                (min, max, after)
                            }
                        }
                    } else {
                        (0, 0, &t[1..])
                    };
                    // A trailing `?` makes it non-greedy, which does not change what matches.
                    let after = after.strip_prefix('?').unwrap_or(after);
                    let spelled = &t[..t.len() - after.len()];
                    let frame = self.top(&mut stack);
                    if frame.last_repeat {
                        return Err(invalid("invalid nested repetition operator", spelled));
                    }
                    let Some(sub) = frame.items.pop() else {
                        return Err(invalid("missing argument to repetition operator", spelled));
                    };
                    let sub = Box::new(sub);
                    frame.items.push(match c {
                        '*' => Node::Star(sub),
                        '+' => Node::Plus(sub),
                        '?' => Node::Quest(sub),
                        _ => Node::Repeat(
                            sub,
                            u32::try_from(min).unwrap_or(0),
                            u32::try_from(max).ok(),
                        ),
                    });
                    repeated = true;
                    t = after;
                }
                '\\' => {
                    t = self.parse_backslash(t, self.top(&mut stack))?;
                }
                _ => {
                    self.top(&mut stack).items.push(literal(c));
                    t = &t[c.len_utf8()..];
                }
            }
            self.top(&mut stack).last_repeat = repeated;
        }
        if stack.len() != 1 {
            let open = stack.last().map_or(0, |f| f.open_at);
            return Err(invalid("missing closing )", &s[open..]));
        }
        Ok(stack.pop().unwrap_or_default().finish())
    }

    fn top<'f>(&self, stack: &'f mut [Frame]) -> &'f mut Frame {
        // The stack always holds the outermost frame.
        let last = stack.len() - 1;
        &mut stack[last]
    }

    /// A `\` outside a class: an assertion, `\Q...\E`, a class escape or one character.
    fn parse_backslash<'s>(&self, t: &'s str, frame: &mut Frame) -> Result<&'s str, RegexpError> {
        let next = t[1..].chars().next();
        match next {
            Some('A') => {
                frame.items.push(Node::BeginText);
                return Ok(&t[2..]);
            }
            Some('z') => {
                frame.items.push(Node::EndText);
                return Ok(&t[2..]);
            }
            Some('b') => {
                frame.items.push(Node::WordBoundary);
                return Ok(&t[2..]);
            }
            Some('B') => {
                frame.items.push(Node::NotWordBoundary);
                return Ok(&t[2..]);
            }
            Some('C') => return Err(invalid("invalid escape sequence", &t[..2])),
            Some('Q') => {
                let body = &t[2..];
                let (lit, rest) = match body.find(r"\E") {
                    Some(i) => (&body[..i], &body[i + 2..]),
                    None => (body, ""),
                };
                frame.items.extend(lit.chars().map(literal));
                return Ok(rest);
            }
            Some('p' | 'P') => {
                return Err(RegexpError::Unsupported(
                    "Unicode class escapes (`\\p...`, `\\P...`)".into(),
                ));
            }
            _ => {}
        }
        if let Some((positive, table)) = t.get(..2).and_then(perl_group) {
            let mut class = Vec::new();
            push_group(&mut class, positive, table);
            frame.items.push(Node::Class(clean_ranges(class)));
            return Ok(&t[2..]);
        }
        let (c, rest) = parse_escape(t)?;
        frame.items.push(literal(c));
        Ok(rest)
    }

    /// A `[...]` class at the start of `s`, as Go's parseClass reads it.
    fn parse_class<'s>(&self, s: &'s str) -> Result<(Ranges, &'s str), RegexpError> {
        let mut t = &s[1..];
        let mut negated = false;
        if t.starts_with('^') {
            negated = true;
            t = &t[1..];
        }
        let mut class: Ranges = Vec::new();
        let mut first = true;
        while t.is_empty() || !t.starts_with(']') || first {
            first = false;
            if t.len() > 2
                && t.starts_with("[:")
                && let Some(end) = t[2..].find(":]")
            {
                let name = &t[..end + 4];
                let Some((positive, table)) = posix_group(name) else {
                    return Err(invalid("invalid character class range", name));
                };
                push_group(&mut class, positive, table);
                t = &t[end + 4..];
                continue;
            }
            if t.starts_with(r"\p") || t.starts_with(r"\P") {
                return Err(RegexpError::Unsupported(
                    "Unicode class escapes (`\\p...`, `\\P...`)".into(),
                ));
            }
            if let Some((positive, table)) = t.get(..2).and_then(perl_group) {
                push_group(&mut class, positive, table);
                t = &t[2..];
                continue;
            }
            let range_start = t;
            let (lo, rest) = class_char(t, s)?;
            t = rest;
            let mut hi = lo;
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                let (h, rest) = class_char(&t[1..], s)?;
                t = rest;
                hi = h;
                if hi < lo {
                    return Err(invalid(
                        "invalid character class range",
                        &range_start[..range_start.len() - t.len()],
                    ));
                }
            }
            class.push((lo as u32, hi as u32));
        }
        t = &t[1..];
        let mut class = clean_ranges(class);
        if negated {
            class = negate(&class);
        }
        Ok((class, t))
    }
}

fn literal(c: char) -> Node {
    Node::Class(vec![(c as u32, c as u32)])
}

fn class_char<'s>(t: &'s str, whole_class: &str) -> Result<(char, &'s str), RegexpError> {
    match first_char(t) {
        None => Err(invalid("missing closing ]", whole_class)),
        Some('\\') => parse_escape(t),
        Some(c) => Ok((c, &t[c.len_utf8()..])),
    }
}

/// Go's parseEscape: `t` starts with `\`.
fn parse_escape(t: &str) -> Result<(char, &str), RegexpError> {
    let body = &t[1..];
    let Some(c) = first_char(body) else {
        return Err(invalid("trailing backslash at end of expression", ""));
    };
    let mut rest = &body[c.len_utf8()..];
    let bad = |rest: &str| invalid("invalid escape sequence", &t[..t.len() - rest.len()]);
    let octal = |b: Option<u8>| b.is_some_and(|b| (b'0'..=b'7').contains(&b));
    match c {
        '1'..='7' if !octal(rest.bytes().next()) => Err(bad(rest)),
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            for _ in 1..3 {
                match rest.bytes().next() {
                    Some(b) if octal(Some(b)) => {
                        r = r * 8 + u32::from(b - b'0');
                        rest = &rest[1..];
                    }
                    _ => break,
                }
            }
            char::from_u32(r)
                .map(|c| (c, rest))
                .ok_or_else(|| bad(rest))
        }
        'x' => {
            let Some(c1) = first_char(rest) else {
                return Err(bad(rest));
            };
            rest = &rest[c1.len_utf8()..];
            if c1 == '{' {
                let mut r: u32 = 0;
                let mut digits = 0;
                loop {
                    let Some(d) = first_char(rest) else {
                        return Err(bad(rest));
                    };
                    rest = &rest[d.len_utf8()..];
                    if d == '}' {
                        break;
                    }
                    let Some(v) = d.to_digit(16) else {
                        return Err(bad(rest));
                    };
                    r = r * 16 + v;
                    if r > MAX_RUNE {
                        return Err(bad(rest));
                    }
                    digits += 1;
                }
                if digits == 0 {
                    return Err(bad(rest));
                }
                return char::from_u32(r)
                    .map(|c| (c, rest))
                    .ok_or_else(|| bad(rest));
            }
            let Some(c2) = first_char(rest) else {
                return Err(bad(rest));
            };
            rest = &rest[c2.len_utf8()..];
            match (c1.to_digit(16), c2.to_digit(16)) {
                (Some(x), Some(y)) => char::from_u32(x * 16 + y)
                    .map(|c| (c, rest))
                    .ok_or_else(|| bad(rest)),
                _ => Err(bad(rest)),
            }
        }
        'a' => Ok(('\x07', rest)),
        'f' => Ok(('\x0C', rest)),
        'n' => Ok(('\n', rest)),
        'r' => Ok(('\r', rest)),
        't' => Ok(('\t', rest)),
        'v' => Ok(('\x0B', rest)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, rest)),
        _ => Err(bad(rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(re: &str, text: &str) -> bool {
        Regexp::compile(re)
            .unwrap_or_else(|e| panic!("{re}: {e}"))
            .is_match(text.as_bytes())
    }

    #[test]
    fn classes_negation_and_ranges() {
        assert!(m("^a[b-d]e$", "ace"));
        assert!(!m("^a[b-d]e$", "aae"));
        assert!(m("^a[^b-d]e$", "aze"));
        assert!(m("^a[^/]b$", "a☺b"), "one rune, not one byte");
        assert!(!m("^a[^/][^/][^/]b$", "a☺b"));
        assert!(m("^[a-ζ][^/]*$", "α"));
        assert!(m("^[\\]a]$", "]"));
        assert!(m("^[x\\-]$", "-"));
        assert!(m("^[!a]$", "!"), "`!` does not negate");
        assert!(m("^[[:digit:]]$", "7"));
        assert!(!m("^[[:^digit:]]$", "7"));
        assert!(m("^[\\d]$", "7"));
    }

    #[test]
    fn escapes_are_go_escapes() {
        assert!(m(r"^\d$", "5"));
        assert!(!m(r"^\d$", "d"));
        assert!(m(r"^\w$", "_"));
        assert!(m(r"^\x41$", "A"));
        assert!(m(r"^\x{263a}$", "☺"));
        assert!(m(r"^\101$", "A"));
        assert!(m(r"^\Qa*\E$", "a*"));
        assert!(m(r"^\Qab$", "ab$"), "\\Q runs to the end, `$` included");
        assert!(!m(r"^a\zb", "ab"));
        assert!(m(r"^\*$", "*"));
        for bad in [
            r"\x",
            r"\1",
            r"\C",
            r"\q",
            "[z-a]",
            "[",
            "[a",
            "[[:nope:]]",
            "a**",
            "(a",
        ] {
            assert!(Regexp::compile(bad).is_err(), "{bad} must not compile");
        }
        assert!(matches!(
            Regexp::compile(r"\pL"),
            Err(RegexpError::Unsupported(_))
        ));
    }

    #[test]
    fn dot_stops_at_newline_and_negated_classes_do_not() {
        assert!(!m("^(.*/)?b$", "a\nx/b"));
        assert!(m("^[^/]*$", "a\nb"));
        assert!(m("^(.*/)?b$", "a/x/b"));
        assert!(m("^(.*/)?b$", "b"));
    }

    #[test]
    fn caret_inside_is_an_anchor() {
        assert!(!m("^a^b[^/]*$", "a^bc"));
        assert!(m("^[[^/]*]$", "[]"));
        assert!(!m("^[[^/]*]$", "*"));
    }

    #[test]
    fn invalid_bytes_read_as_one_replacement_rune_each() {
        let re = Regexp::compile("^a[^/]b$").expect("compiles");
        assert!(re.is_match(b"a\xffb"));
        assert!(!re.is_match(b"a\xe2\x82b"), "two invalid bytes, two runes");
        let re = Regexp::compile("^a\u{FFFD}b$").expect("compiles");
        assert!(re.is_match(b"a\xffb"));
    }
}
