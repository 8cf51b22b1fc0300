//! `.dockerignore` rules, case by case, from the tables Docker tests itself with: moby/patternmatcher
//! (`patternmatcher_test.go`, `ignorefile_test.go`), the docker CLI's build tests in moby's
//! integration-cli, BuildKit's dockerignore tests and tonistiigi/fsutil's walker tests. The cases
//! are Docker's; the expected answers are what those tables (and the builders they test) give.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use paved::hash::content::{DiskKind, context_files};
use paved::hash::dockerignore::{Builder, DockerIgnore, read_all_patterns};

fn rules(patterns: &[&str]) -> DockerIgnore {
    DockerIgnore::from_patterns(patterns).unwrap_or_else(|e| panic!("{patterns:?}: {e}"))
}

/// The path as the walk decides it, and as BuildKit's `Open` (every ancestor tried) does.
fn both(patterns: &[&str], path: &str) -> (bool, bool) {
    let r = rules(patterns);
    let clean = path.trim_end_matches('/');
    let clean = if clean.is_empty() { path } else { clean };
    (
        r.excluded_in_walk(clean.as_bytes()),
        r.matches_or_parent_matches(path.as_bytes()),
    )
}

#[test]
fn patternmatcher_single_pattern_table() {
    // TestMatches: every row holds for the walk and for MatchesOrParentMatches.
    let table: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**", "file/", true),
        ("**", "dir/file", true),
        ("**", "dir/file/", true),
        ("**/", "file", true),
        ("**/", "dir/file/", true),
        ("**/**", "dir/file", true),
        ("**/**", "dir/file/", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/dir2/file/", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**file", "dir/dir/file", true),
        ("**/file", "dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt", "file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("a\\\\", "a\\", true),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        ("a\\*b", "a*b", true),
    ];
    for (pattern, path, want) in table {
        let (walk, open) = both(&[pattern], path);
        assert_eq!(walk, *want, "walk: {pattern} / {path}");
        assert_eq!(open, *want, "every-ancestor: {pattern} / {path}");
    }
}

#[test]
fn patternmatcher_multi_pattern_table() {
    let whl = "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl";
    let rows: &[(&[&str], &str, bool)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            true,
        ),
        (
            &[
                "**",
                "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            ],
            whl,
            false,
        ),
        (&["**", "!dist/*.whl"], whl, false),
        // TestExclusionPatternMatchesPatternBefore / After, folder exclusions.
        (&["!fileutils.go", "*.go"], "fileutils.go", true),
        (&["*.go", "!fileutils.go"], "fileutils.go", false),
        (&["docs", "!docs/README.md"], "docs/README.md", false),
        (&["docs/", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/README.md", false),
        (&["*"], "fileutils.go", true),
        (&["*.go"], "fileutils.go", true),
    ];
    for (patterns, path, want) in rows {
        let (walk, open) = both(patterns, path);
        assert_eq!(walk, *want, "walk: {patterns:?} / {path}");
        assert_eq!(open, *want, "every-ancestor: {patterns:?} / {path}");
    }
    // TestExclusionPatternMatchesWholeDirectory and TestMatchesWithNoPatterns.
    assert!(!rules(&["*.go"]).matches_or_parent_matches(b"."));
    assert!(!rules(&[]).matches_or_parent_matches(b"/any/path/there"));
}

#[test]
fn filepath_match_table() {
    // TestMatch (Go's filepath.Match table as patternmatcher runs it). `Some(x)`: matches or
    // not; `None`: Docker refuses the pattern.
    let table: &[(&str, &str, Option<bool>)] = &[
        ("abc", "abc", Some(true)),
        ("*", "abc", Some(true)),
        ("*c", "abc", Some(true)),
        ("a*", "a", Some(true)),
        ("a*", "abc", Some(true)),
        ("a*", "ab/c", Some(true)),
        ("a*/b", "abc/b", Some(true)),
        ("a*/b", "a/c/b", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Some(false)),
        ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
        ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
        ("ab[c]", "abc", Some(true)),
        ("ab[b-d]", "abc", Some(true)),
        ("ab[e-g]", "abc", Some(false)),
        ("ab[^c]", "abc", Some(false)),
        ("ab[^b-d]", "abc", Some(false)),
        ("ab[^e-g]", "abc", Some(true)),
        ("a\\*b", "a*b", Some(true)),
        ("a\\*b", "ab", Some(false)),
        ("a?b", "a☺b", Some(true)),
        ("a[^a]b", "a☺b", Some(true)),
        ("a???b", "a☺b", Some(false)),
        ("a[^a][^a][^a]b", "a☺b", Some(false)),
        ("[a-ζ]*", "α", Some(true)),
        ("*[a-ζ]", "A", Some(false)),
        ("a*b", "a/b", Some(false)),
        ("a?b", "a/b", Some(false)),
        ("[\\]a]", "]", Some(true)),
        ("[\\-]", "-", Some(true)),
        ("[x\\-]", "x", Some(true)),
        ("[x\\-]", "-", Some(true)),
        ("[x\\-]", "z", Some(false)),
        ("[\\-x]", "x", Some(true)),
        ("[\\-x]", "-", Some(true)),
        ("[\\-x]", "a", Some(false)),
        ("[]a]", "]", None),
        ("[-]", "-", None),
        ("[x-]", "x", None),
        ("[-x]", "x", None),
        ("\\", "a", None),
        ("[a-b-c]", "a", None),
        ("[", "a", None),
        ("[^", "a", None),
        ("[^bc", "a", None),
        ("a[", "a", None),
        ("a[", "ab", None),
        ("*x", "xxx", Some(true)),
    ];
    for (pattern, path, want) in table {
        match (DockerIgnore::from_patterns(&[pattern]), want) {
            (Err(_), None) => {}
            (Ok(r), Some(want)) => assert_eq!(
                r.matches_or_parent_matches(path.as_bytes()),
                *want,
                "{pattern} / {path}"
            ),
            (got, want) => panic!("{pattern}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn refused_patterns_are_located() {
    // TestSingleExclamationError, TestMatchesWithMalformedPatterns, and the rest of the
    // patterns Docker refuses, each in a file at line 3.
    for bad in [
        "!", "! ", "[", "[]a]", "[-]", "[x-]", "[a-b-c]", "[^", "a\\", "!/",
    ] {
        let text = format!("# comment\nok\n{bad}\nlater\n");
        let err =
            DockerIgnore::parse(text.as_bytes(), Path::new("ctx/.dockerignore")).expect_err(bad);
        assert_eq!(err.line, 3, "{bad}");
        assert!(
            err.to_string().starts_with("ctx/.dockerignore:3:1: "),
            "{bad}: {err}"
        );
    }
    // Docker fails the build when it reaches a pattern Go's regexp cannot compile
    // (TestMatchesOrParentMatchesMalformedPatternDoesNotPanicOnRepeatedCall's `[Local-Only]/`);
    // paved refuses it at once.
    for bad in ["[Local-Only]/", "[z-a]", "x\\x", "a\\1"] {
        let err = DockerIgnore::parse(format!("  {bad}\n").as_bytes(), Path::new(".dockerignore"))
            .expect_err(bad);
        assert_eq!((err.line, err.column), (1, 3), "{bad}");
    }
    // Go's filepath.Match stops at the first chunk that cannot match `.`: what follows is not
    // checked, so Docker accepts these (checked with the docker CLI 28.2.2).
    for accepted in [")/**[x-]", "a/b*[]a]"] {
        assert!(
            DockerIgnore::from_patterns(&[accepted]).is_ok(),
            "{accepted}"
        );
    }
}

#[test]
fn clean_patterns() {
    // TestCleanPatterns*: empty entries dropped, exceptions noticed through surrounding space.
    assert_eq!(rules(&["docs", "config"]).patterns().len(), 2);
    assert_eq!(rules(&["docs", "config", ""]).patterns().len(), 2);
    assert!(rules(&["docs", "!docs/README.md"]).has_exceptions());
    assert!(rules(&["docs", "  !docs/README.md"]).has_exceptions());
    assert!(rules(&["docs", "!docs/README.md  "]).has_exceptions());
    assert!(!rules(&["docs"]).has_exceptions());
}

#[test]
fn ignorefile_read_all() {
    // ignorefile_test.go TestReadAll.
    let text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! \n";
    let got: Vec<String> = read_all_patterns(text.as_bytes(), Path::new(".dockerignore"))
        .expect("reads")
        .into_iter()
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .collect();
    assert_eq!(
        got,
        [
            "test1",
            "test2",
            "a/file/here",
            "lastfile",
            "!inverted/abs/path",
            "!",
            "!"
        ]
    );
    assert!(
        read_all_patterns(b"", Path::new("x"))
            .expect("reads")
            .is_empty()
    );
}

#[test]
fn reading_like_docker() {
    let read = |text: &[u8]| -> Vec<String> {
        read_all_patterns(text, Path::new(".dockerignore"))
            .expect("reads")
            .into_iter()
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .collect()
    };
    // A byte-order mark is dropped from the first line only; then `#bom` there is a comment.
    assert_eq!(read(b"\xEF\xBB\xBF#bom\nx\n"), ["x"]);
    assert_eq!(read(b"\xEF\xBB\xBFbom\n"), ["bom"]);
    // Only `#` in the first column starts a comment.
    assert_eq!(read(b"#1\n  #2\n #x\n"), ["#2", "#x"]);
    // CRLF, surrounding white space (Unicode's too), `./`, `/`, `//` and `..` cleaned away.
    assert_eq!(
        read(b"crlf\r\n  *.md   \n\xC2\xA0nbsp\t\n./foo\ndir1//foo\n./dir1/../foo2\n//y\n/\n.\n../x\n"),
        ["crlf", "*.md", "nbsp", "foo", "dir1/foo", "foo2", "y", "/", ".", "../x"]
    );
    // `!` is trimmed apart from its pattern: `! /x` is `!x`.
    assert_eq!(read(b"! /x\n!./y/\n"), ["!x", "!y"]);
    // No line is too long below 64 KiB; Docker cannot read one of 64 KiB.
    let long = vec![b'a'; 64 * 1024];
    assert!(read_all_patterns(&long, Path::new(".dockerignore")).is_err());
}

#[test]
fn non_ascii_names_match_by_character() {
    assert!(both(&["a?b"], "a☺b").0);
    assert!(!both(&["a??b"], "a☺b").0);
    assert!(both(&["[☺]x"], "☺x").0);
    assert!(both(&["[^a]"], "é").0);
    assert!(both(&["*"], "日本語").0);
    // An invalid UTF-8 byte is one character (U+FFFD), as Go reads it.
    let r = rules(&["a?b"]);
    assert!(r.excluded_in_walk(b"a\xffb"));
    assert!(!r.excluded_in_walk(b"a\xe2\x82b"));
}

#[test]
fn regexp_syntax_reaches_go_as_written() {
    // Research on the docker CLI 28.2.2 (moby/patternmatcher v0.6): the translation hands `\`
    // escapes and `[...]` to Go's regexp, and leaves `|`, `{`, `}` unescaped.
    assert!(both(&["\\d"], "5").0, "`\\d` is a digit");
    assert!(!both(&["\\d"], "d").0);
    assert!(both(&["x\\d"], "x5").0);
    assert!(both(&["[[:digit:]]"], "7").0);
    assert!(both(&["[!a]"], "!").0, "`!` does not negate a class");
    assert!(!both(&["[!a]"], "b").0);
    assert!(
        both(&["[*]"], "[]").0,
        "`*` inside brackets is still translated"
    );
    assert!(!both(&["[*]"], "*").0);
    assert!(!both(&["a^b*"], "a^bc").0, "`^` in a regexp is an anchor");
    assert!(both(&["a^b"], "a^b").0, "and literal in an exact pattern");
    assert!(both(&["a**b"], "ab").0);
    assert!(both(&["a**b"], "ax/b").0);
    assert!(!both(&["a**b"], "axb").0);
    assert!(
        both(&["**foo"], "xfoo").0,
        "a leading `**` is a suffix match"
    );
    assert!(both(&["**.txt"], "d/b.txt").0);
    assert!(!both(&["**.txt"], "xtxt").0);
    assert!(both(&["a|b"], "a|b").0, "exact: `|` is literal");
    assert!(
        both(&["?|[a-c]"], "ba").0,
        "in a regexp `|` alternates: `^[^/]` or `[a-c]$`"
    );
    assert!(both(&["*x{2}"], "axx").0, "`{{2}}` repeats in a regexp");
    assert!(!both(&["*x{2}"], "ax{2}").0);
    assert!(both(&["a+b"], "a+b").0);
    assert!(!both(&["a+b"], "aab").0);
    // `(.*/)?` cannot cross a newline, but the suffix shortcut does not care.
    assert!(both(&["**/b"], "a\nx/b").0);
    assert!(!both(&["**/*b"], "a\nx/b").0);
}

#[test]
fn the_walk_decides_from_the_parent_not_every_ancestor() {
    // Where the builders' walk (MatchesUsingParentResults) and checking every ancestor
    // (MatchesOrParentMatches) disagree, the walk is what Docker sends.
    let rows: &[(&[&str], &str, bool, bool)] = &[
        // (patterns, path, walk, every ancestor)
        (&["a", "!a/b", "a"], "a/b", false, true),
        (&["*/b", "!a"], "a/b", true, false),
        (&["**/*.txt", "!sub"], "sub/y.txt", true, false),
        (&["*/a*", "!a", "!a"], "a/ab", true, false),
        (&["*/*", "!*"], "a/a/ab", true, false),
        (
            &["docs", "!docs/internal/a.md", "docs/internal"],
            "docs/internal/a.md",
            false,
            true,
        ),
        (&["a/x", "!a"], "a/x/y", true, false),
    ];
    for (patterns, path, walk, open) in rows {
        assert_eq!(
            both(patterns, path),
            (*walk, *open),
            "{patterns:?} / {path}"
        );
    }
}

fn tree(root: &Path, files: &[&str]) {
    for f in files {
        let p = root.join(f);
        if let Some(dir) = f.strip_suffix('/') {
            fs::create_dir_all(root.join(dir)).expect("mkdir");
            continue;
        }
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, f.as_bytes()).expect("write");
    }
}

fn sent(root: &Path, ignore: &[u8], builder: Builder) -> Vec<String> {
    let rules = DockerIgnore::parse(ignore, Path::new(".dockerignore")).expect("valid");
    context_files(root, &rules, builder)
        .expect("walk")
        .files
        .iter()
        .map(|f| f.rel_lossy())
        .collect()
}

fn sorted(mut v: Vec<&str>) -> Vec<String> {
    v.sort();
    v.into_iter().map(String::from).collect()
}

#[test]
fn moby_integration_cases() {
    // integration-cli docker_cli_build_test.go: what the image gets, less the Dockerfile and
    // .dockerignore, which these cases leave in the context.
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            // TestBuildDockerignore
            ".git\npkg\n.gitignore\nsrc/_vendor\n*.md\n**/*.cc\ndir\n",
            &[
                "Makefile",
                "src/x.go",
                "src/_vendor/v.go",
                "src/_vendor/v.cc",
                "src/v.cc",
                "v.cc",
                ".gitignore",
                "README.md",
                "dir/foo",
                "pkg/x",
            ],
            &["Makefile", "src/x.go"],
        ),
        (
            // TestBuildDockerignoreCleanPaths
            "./foo\ndir1//foo\n./dir1/../foo2\n",
            &["foo", "foo2", "dir1/foo", "bar"],
            &["bar"],
        ),
        (
            // TestBuildDockerignoreExceptions
            ".git\npkg\n.gitignore\nsrc/_vendor\n*.md\ndir\n!dir/e*\n!dir/dir/foo\n**/*.cc\n!**/*.cc\n",
            &[
                "Makefile",
                "src/x.go",
                "src/_vendor/v.go",
                ".gitignore",
                "README.md",
                "dir/foo1",
                "dir/e",
                "dir/e-dir/foo",
                "dir/dir/foo",
                "dir/a.cc",
            ],
            &[
                "Makefile",
                "src/x.go",
                "dir/e",
                "dir/e-dir/foo",
                "dir/dir/foo",
                "dir/a.cc",
            ],
        ),
        (
            // TestBuildDockerignoringWholeDir
            "*\n",
            &[".gitignore", "Makefile"],
            &[],
        ),
        (
            // TestBuildDockerignoringOnlyDotfiles
            ".*\n",
            &[".gitignore", "Makefile"],
            &["Makefile"],
        ),
        (
            // TestBuildDockerignoringWildDirs
            "**/file0\n**/*file1\n**/dir1/file2\ndir1/**/file4\n**/dir2/file5\n**/dir1/dir2/file6\ndir1/dir3/**\n**/dir4/**\n**/file?A\n**/file\\?B\n**/dir5/file.\n",
            &[
                "file0",
                "dir1/file0",
                "dir1/dir2/file0",
                "file1",
                "dir1/file1",
                "dir1/dir2/file1",
                "dir1/file2",
                "dir1/dir2/file2",
                "dir1/dir2/file4",
                "dir1/dir2/file5",
                "dir1/dir2/file6",
                "dir1/dir3/file7",
                "dir1/dir3/file8",
                "dir1/dir4/file9",
                "dir1/dir5/fileAA",
                "dir1/dir5/fileAB",
                "dir1/dir5/fileB",
            ],
            &["dir1/dir2/file2", "dir1/dir5/fileAB", "dir1/dir5/fileB"],
        ),
        (
            // TestBuildDockerignoreComment
            "# A comment\n# Another\nfoo\n#dir1/foo\nfoo2\n#1\n  #2\n",
            &["foo", "foo2", "dir1/foo", "#1", "#2"],
            &["#1", "dir1/foo"],
        ),
    ];
    for (ignore, files, want) in cases {
        for wild in [&b""[..], b"**\n", b"**/\n", b"**/**\n"] {
            let dir = tempfile::tempdir().expect("tempdir");
            tree(dir.path(), files);
            if wild.is_empty() {
                assert_eq!(
                    sent(dir.path(), ignore.as_bytes(), Builder::BuildKit),
                    sorted(want.to_vec()),
                    "{ignore}"
                );
                assert_eq!(
                    sent(dir.path(), ignore.as_bytes(), Builder::Legacy),
                    sorted(want.to_vec()),
                    "{ignore}"
                );
            } else {
                // TestBuildDockerignoringWildTopDir: each of these excludes everything.
                assert!(sent(dir.path(), wild, Builder::BuildKit).is_empty());
            }
        }
    }
}

#[test]
fn the_moby_l_case_read_and_applied() {
    // Research case "L" (docker CLI 28.2.2): BOM, CRLF, cleaned paths, both kinds of `#`,
    // trailing spaces, a spaced `!`. Names with leading or trailing spaces cannot be matched.
    let ignore = b"\xEF\xBB\xBFbom\ncrlf\r\n./foo\ndir1//foo\n./dir1/../foo2\n#1\n  #2\n*.md   \n   !keep.md\n a b \n";
    let dir = tempfile::tempdir().expect("tempdir");
    tree(
        dir.path(),
        &[
            "foo", "foo2", "dir1/foo", "#1", "#2", " lead", "trail ", "bom", "crlf", "a b",
            "keep.md", "x.md",
        ],
    );
    assert_eq!(
        sent(dir.path(), ignore, Builder::BuildKit),
        sorted(vec![" lead", "#1", "keep.md", "trail "])
    );
}

#[test]
fn buildkit_and_fsutil_walker_cases() {
    // BuildKit testDockerignore: the Dockerfile and .dockerignore are not re-included.
    let dir = tempfile::tempdir().expect("tempdir");
    tree(
        dir.path(),
        &["Dockerfile", "foo", "bar", "baz", "bay", ".dockerignore"],
    );
    assert_eq!(
        sent(
            dir.path(),
            b"ba*\nDockerfile\n!bay\n.dockerignore\n",
            Builder::BuildKit
        ),
        sorted(vec!["bay", "foo"])
    );
    // fsutil TestWalkerExclude and TestFSWalkNested.
    let dir = tempfile::tempdir().expect("tempdir");
    tree(dir.path(), &["bar", "foo2", "foo/bar2"]);
    assert_eq!(
        sent(dir.path(), b"foo*\n!foo/bar2\n", Builder::BuildKit),
        sorted(vec!["bar", "foo/bar2"])
    );
    let dir = tempfile::tempdir().expect("tempdir");
    tree(dir.path(), &["foo/bar"]);
    assert_eq!(
        sent(dir.path(), b"foo\n!foo/bar\n", Builder::BuildKit),
        sorted(vec!["foo/bar"])
    );
}

#[test]
fn builders_differ_on_wildcard_exceptions_under_excluded_directories() {
    // BuildKit enters every excluded directory once an exception has a wildcard; the legacy
    // builder only where an exception's literal text lies below it.
    let dir = tempfile::tempdir().expect("tempdir");
    tree(dir.path(), &["a/foo", "a/bar", "b/foo", "c"]);
    assert_eq!(
        sent(dir.path(), b"*\n!*/foo\n", Builder::BuildKit),
        sorted(vec!["a/foo", "b/foo"])
    );
    assert!(sent(dir.path(), b"*\n!*/foo\n", Builder::Legacy).is_empty());
    // A trailing `/**` or `/*` is not a wildcard for that rule.
    assert_eq!(
        sent(dir.path(), b"*\n!a/**\n", Builder::BuildKit),
        sorted(vec!["a/bar", "a/foo"])
    );
    let rules = DockerIgnore::from_patterns(&["*", "!a/**"]).expect("valid");
    assert!(rules.enters_excluded_dir(b"a", Builder::BuildKit));
    assert!(!rules.enters_excluded_dir(b"b", Builder::BuildKit));
    assert!(rules.enters_excluded_dir(b"a", Builder::Legacy));
    assert!(
        !DockerIgnore::from_patterns(&["*"])
            .expect("valid")
            .enters_excluded_dir(b"a", Builder::BuildKit)
    );
}

#[test]
fn what_the_walk_lists() {
    // Symlinks are listed as such (not followed), broken ones too; directories, empty or not,
    // are not listed; `.git` is never listed.
    let dir = tempfile::tempdir().expect("tempdir");
    tree(dir.path(), &["d/f", "empty/", ".git/HEAD", "sub/.git"]);
    symlink("d", dir.path().join("dirlink")).expect("symlink");
    symlink("nowhere", dir.path().join("broken")).expect("symlink");
    let listing =
        context_files(dir.path(), &DockerIgnore::default(), Builder::BuildKit).expect("walk");
    let got: Vec<(String, DiskKind)> = listing
        .files
        .iter()
        .map(|f| (f.rel_lossy(), f.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            ("broken".to_string(), DiskKind::Symlink),
            ("d/f".to_string(), DiskKind::File),
            ("dirlink".to_string(), DiskKind::Symlink),
        ]
    );
    assert_eq!(
        listing.git_sent,
        vec![".git".to_string(), "sub/.git".to_string()]
    );
    let ignored = DockerIgnore::parse(b".git\n**/.git\n", Path::new("x")).expect("valid");
    assert!(
        context_files(dir.path(), &ignored, Builder::BuildKit)
            .expect("walk")
            .git_sent
            .is_empty()
    );
}
