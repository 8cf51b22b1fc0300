//! Property test: mutated specs never make the loader panic, and every rejection is located
//! inside the file with a help line.

use paved::spec;
use proptest::prelude::*;

const EXAMPLES: [&str; 4] = [
    "apps/hello/kubeapp.yaml",
    "apps/billing/kubeapp.yaml",
    "apps/catalog/kubeapp.yaml",
    "apps/worker/kubeapp.yaml",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
    Indent { line: usize, by: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let fragment = proptest::collection::vec(
        prop::sample::select(vec![
            ":", "-", " ", "\n", "[", "]", "{", "}", "\"", "'", "&a", "*a", "#", "!", "|", ">",
            "0", "9", "1.5", "x", "é", "\t", "~", "true", "null", "?", ",", "m", "Mi", "%",
        ]),
        1..6,
    )
    .prop_map(|parts| parts.concat());
    prop_oneof![
        (any::<usize>(), 1..20usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), fragment).prop_map(|(at, text)| Mutation::Insert { at, text }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        (any::<usize>(), 1..4usize).prop_map(|(line, by)| Mutation::Indent { line, by }),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::Delete { at, len } => {
            let at = at % chars.len().max(1);
            let end = (at + len).min(chars.len());
            chars[..at].iter().chain(&chars[end..]).collect()
        }
        Mutation::Insert { at, text } => {
            let at = at % (chars.len() + 1);
            let mut out: String = chars[..at].iter().collect();
            out.push_str(text);
            out.extend(&chars[at..]);
            out
        }
        Mutation::DuplicateLine { line } => {
            let line = line % n;
            if let Some(l) = lines.get(line).cloned() {
                lines.insert(line, l);
            }
            lines.join("\n")
        }
        Mutation::SwapLines { a, b } => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
            lines.join("\n")
        }
        Mutation::Indent { line, by } => {
            if let Some(l) = lines.get_mut(line % n) {
                *l = format!("{}{l}", " ".repeat(*by));
            }
            lines.join("\n")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_specs_give_located_errors_never_panics(
        example in prop::sample::select(EXAMPLES.to_vec()),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let original = std::fs::read_to_string(example).expect("example");
        let text = mutations.iter().fold(original, |t, m| apply(&t, m));
        // A copy of apps/ that keeps `extends: ../platform/defaults.yaml` meaningful, outside
        // the repository so other tests listing apps/ never see it.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("platform")).expect("mkdir");
        std::fs::copy("apps/platform/defaults.yaml", dir.path().join("platform/defaults.yaml")).expect("copy defaults");
        std::fs::create_dir_all(dir.path().join("app")).expect("mkdir");
        let path = dir.path().join("app/kubeapp.yaml");
        std::fs::write(&path, &text).expect("write");
        if let Err(e) = spec::load_file(&path) {
            prop_assert!(e.broken_promise().is_none(), "{:?} for:\n{text}", e.broken_promise());
        }
    }
}
