//! Spec errors: each one located (file:line:column), with a help line, all of a file at once.

use std::fmt;
use std::path::PathBuf;

use miette::{Diagnostic, LabeledSpan, SourceSpan};

use super::yaml::Loc;

/// One problem in a spec, where it is, and what to do about it.
#[derive(Debug, Clone)]
pub struct Problem {
    pub loc: Loc,
    /// Dotted path of the value, e.g. `components.web.resources.cpu` (empty for the document).
    pub path: String,
    pub message: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(loc: &Loc, path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            loc: loc.clone(),
            path: path.into(),
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn file(&self) -> &str {
        &self.loc.source.path
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: ",
            self.loc.source.path, self.loc.line, self.loc.column
        )?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.loc.source.text)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = SourceSpan::new(self.loc.offset.into(), self.loc.token_len());
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some("here".into()),
            span,
        ))))
    }
}

/// Why a spec could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// No kubeapp.yaml at the path or app name given.
    #[error("no kubeapp found at `{given}` (looked for {tried})")]
    NotFound { given: String, tried: String },
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An app directory holds a kubeapp.yaml and a kubeapp.star.
    #[error("{} holds both kubeapp.yaml and kubeapp.star: an app is written in one of them; remove the other", .dir.display())]
    Both { dir: PathBuf },
    /// A kubeapp.star describes several apps and none was named.
    #[error("{} describes {} apps ({}): name one, e.g. `{}#{}`", .file.display(), .names.len(), .names.join(", "), .file.display(), .names.first().map_or("", String::as_str))]
    Choose { file: PathBuf, names: Vec<String> },
    /// The app named is not one the kubeapp.star describes.
    #[error("{} describes no app `{name}` (it describes {})", .file.display(), .names.join(", "))]
    NoSuchApp {
        file: PathBuf,
        name: String,
        names: Vec<String>,
    },
    /// The spec has problems; every one found is listed.
    #[error("{}", summary(.0))]
    Invalid(Vec<Problem>),
}

fn summary(problems: &[Problem]) -> String {
    let files: std::collections::BTreeSet<&str> = problems.iter().map(Problem::file).collect();
    let files: Vec<&str> = files.into_iter().collect();
    match problems.len() {
        1 => format!("{} has 1 problem", files.join(", ")),
        n => format!("{} has {n} problems", files.join(", ")),
    }
}

impl SpecError {
    /// The located problems, if the spec was read but is invalid.
    pub fn problems(&self) -> &[Problem] {
        match self {
            SpecError::Invalid(p) => p,
            _ => &[],
        }
    }

    /// Why this error breaks the loader's promise for a file it could read (every problem
    /// located inside the file, with a help line, and a report that renders), if it does. The
    /// property test and the fuzz target hold the loader to it.
    pub fn broken_promise(&self) -> Option<String> {
        let SpecError::Invalid(problems) = self else {
            return Some(format!("not a located error: {self:?}"));
        };
        if problems.is_empty() {
            return Some("invalid, with no problem listed".into());
        }
        for p in problems {
            let src = &p.loc.source.text;
            if p.loc.line < 1 || p.loc.column < 1 {
                return Some(format!("no line and column: {p}"));
            }
            if p.loc.offset > src.len() || !src.is_char_boundary(p.loc.offset) {
                return Some(format!("offset outside the text: {p}"));
            }
            if p.help.is_none() {
                return Some(format!("no help: {p}"));
            }
        }
        (!self.render(false).starts_with("error: ")).then(|| "the report does not render".into())
    }

    /// A report for people: the summary, then each problem with its source line underlined and
    /// its help.
    pub fn render(&self, color: bool) -> String {
        let mut out = format!("error: {self}\n");
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        for problem in self.problems() {
            out.push('\n');
            let mut snippet = String::new();
            if handler.render_report(&mut snippet, problem).is_ok() {
                out.push_str(&snippet);
            }
        }
        out
    }
}
