//! `paved hash`: the content hash, its inputs, and what changed since an earlier image.

use serde::Serialize;

use crate::build::native::CONTENT_HASH_KEY;
use crate::build::{BuildError, fetch_inputs};
use crate::hash::content::{Entry, HashError, InputManifest, Kind, Method};
use crate::hash::content_hash;
use crate::plan::table;
use crate::registry::{Auth, Reference, Registry};
use crate::spec;

use super::{Output, StepError};

/// Print the content hash of an app's image inputs.
#[derive(Debug, clap::Args)]
pub struct HashArgs {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    /// List every input: build parameters and files with their ids
    #[arg(long)]
    pub explain: bool,
    /// Say what changed since an earlier image: `registry/repo:tag`, `registry/repo@sha256:...`,
    /// or a tag of the app's repository in --registry
    #[arg(long, value_name = "IMAGE-OR-TAG")]
    pub since: Option<String>,
    /// The registry holding the app's repository, for --since with a bare tag
    #[arg(long, env = "PAVED_REGISTRY", hide_env_values = true)]
    pub registry: Option<String>,
    /// Read every input byte instead of trusting git's index for clean files
    #[arg(long)]
    pub no_git: bool,
    /// How to print
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: super::Output,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct HashReport {
    content_hash: String,
    notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inputs: Option<InputManifest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes_since: Option<Vec<String>>,
}

async fn run(args: &HashArgs) -> Result<HashReport, StepError> {
    let loaded = spec::load(&args.app)?;
    let method = if args.no_git {
        Method::Bytes
    } else {
        Method::Auto
    };
    let input = loaded.clone();
    let content = tokio::task::spawn_blocking(move || content_hash(&input, method))
        .await
        .map_err(StepError::failed)?
        .map_err(hash_error)?;
    let changes_since = match &args.since {
        None => None,
        Some(since) => {
            let repo = crate::plan::repository(&loaded.spec);
            let old = earlier_inputs(since, args.registry.as_deref(), &repo).await?;
            Some(content.manifest.changes_since(&old))
        }
    };
    Ok(HashReport {
        content_hash: content.hash,
        notes: content.notes,
        inputs: args.explain.then_some(content.manifest),
        changes_since,
    })
}

/// A content-hash failure as a step error: a `.dockerignore` Docker refuses is bad input (exit
/// 2), located at its line; anything else is a failure.
pub fn hash_error(e: HashError) -> StepError {
    match e {
        HashError::DockerIgnore(e) => StepError::BadInput(format!("{e} (help: {})", e.help)),
        other => StepError::failed(other),
    }
}

/// The input manifest recorded with an earlier image.
async fn earlier_inputs(
    since: &str,
    registry: Option<&str>,
    app_repo: &str,
) -> Result<InputManifest, StepError> {
    let (host, repo, reference) = if since.contains('/') {
        let r = Reference::parse(since).map_err(StepError::BadInput)?;
        let reference = r.manifest_reference().to_string();
        (r.registry, r.repository, reference)
    } else {
        let host = registry.ok_or_else(|| {
            StepError::BadInput(format!(
                "--since {since} is a bare tag: give --registry too, or a full image reference"
            ))
        })?;
        (host.to_string(), app_repo.to_string(), since.to_string())
    };
    let auth = match (
        std::env::var("PAVED_REGISTRY_USERNAME"),
        std::env::var("PAVED_REGISTRY_PASSWORD"),
    ) {
        (Ok(username), Ok(password)) => Auth::Basic { username, password },
        _ => Auth::Anonymous,
    };
    let reg = Registry::new(&host, auth);
    let failed = |e: BuildError| StepError::Failed(e.to_string());
    // A tag that is itself a content hash names its inputs directly; anything else is looked up
    // through the image's annotation.
    let hash = if reference.len() == 64 && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        reference.clone()
    } else {
        let m = reg
            .manifest(&repo, &reference)
            .await
            .map_err(|e| failed(e.into()))?
            .ok_or_else(|| StepError::Failed(format!("{host}/{repo}:{reference} not found")))?;
        let parsed: serde_json::Value = serde_json::from_slice(&m.bytes).unwrap_or_default();
        parsed["annotations"][CONTENT_HASH_KEY]
            .as_str()
            .map(String::from)
            .ok_or_else(|| StepError::Failed(format!("{host}/{repo}:{reference} carries no {CONTENT_HASH_KEY} annotation: it was not built by paved")))?
    };
    fetch_inputs(&reg, &repo, &hash)
        .await
        .map_err(failed)?
        .ok_or_else(|| {
            StepError::Failed(format!(
                "no input manifest stored for {host}/{repo} content hash {hash}"
            ))
        })
}

fn print(report: &HashReport, output: Output) {
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
        return;
    }
    println!("{}", report.content_hash);
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    if let Some(inputs) = &report.inputs {
        println!("\nscheme {}", inputs.scheme);
        let params: Vec<Vec<String>> = inputs
            .params
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        print!("{}", table(&["PARAMETER", "VALUE"], &params));
        let files: Vec<Vec<String>> = inputs.files.iter().map(file_row).collect();
        println!("\n{} files", files.len());
        print!("{}", table(&["PATH", "KIND", "ID"], &files));
    }
    if let Some(changes) = &report.changes_since {
        if changes.is_empty() {
            println!("\nnothing changed");
        } else {
            println!("\nchanged since:");
            for c in changes {
                println!("  {c}");
            }
        }
    }
}

fn file_row(e: &Entry) -> Vec<String> {
    let kind = match e.kind {
        Kind::File => "file",
        Kind::Executable => "exec",
        Kind::Symlink => "link",
    };
    let id = if e.kind == Kind::Symlink {
        format!("-> {}", e.id)
    } else {
        e.id.chars().take(12).collect()
    };
    vec![e.path.clone(), kind.into(), id]
}

/// Run `paved hash`; returns the exit code.
pub fn execute(args: HashArgs) -> u8 {
    super::block_on("hash", run(&args), |report| {
        print(&report, args.output);
        crate::exit::OK
    })
}
