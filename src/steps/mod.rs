//! One module per pipeline step: its clap `Args` and what it runs. The `paved-<step>` binaries
//! and `paved <step>` share them.

pub mod apply_specs;
pub mod build_image;
pub mod create_cluster;
pub mod deploy;
pub mod doctor;
pub mod exec;
pub mod hash;
pub mod history;
pub mod iam_policy;
pub mod janitor;
pub mod kubeconfig;
pub mod plan;
pub mod rollback;
pub mod status;
pub mod switch_traffic;
pub mod teardown;
pub mod verify;
pub mod waves;

use std::io::IsTerminal;

use crate::exit;
use crate::github::actions;
use crate::github::ledger::{Ledger, LedgerArgs, Phase, Report};
use crate::spec::SpecError;

/// Why a step failed, which decides its exit code.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The spec is invalid (exit 2).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A flag or argument is wrong (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// The new version did not pass verification (exit 3).
    #[error("{0}")]
    VerifyFailed(String),
    /// A guard or check of paved's own said no, or the state does not allow going on; the
    /// message says what to do (exit 1).
    #[error("{0}")]
    Failed(String),
    /// A call to AWS, Kubernetes, GitHub, a registry or a tool failed; its error is kept with
    /// its causes, for `-v` (exit 1).
    #[error(transparent)]
    Call(Box<dyn std::error::Error + Send + Sync>),
    /// A call failed while paved was doing what `doing` says (exit 1).
    #[error("{doing}: {source}")]
    During {
        doing: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StepError {
    pub fn exit_code(&self) -> u8 {
        match self {
            StepError::Spec(_) | StepError::BadInput(_) => exit::BAD_INPUT,
            StepError::VerifyFailed(_) => exit::VERIFY_FAILED,
            StepError::Failed(_) | StepError::Call(_) | StepError::During { .. } => exit::FAILED,
        }
    }

    /// A failed call, its error kept whole (a message of paved's own is taken as well).
    pub fn failed(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StepError::Call(e.into())
    }

    /// A failed call, named by what it was for: "cannot read the deployments: <the call's error>".
    pub fn during<E>(doing: impl Into<String>) -> impl FnOnce(E) -> Self
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let doing = doing.into();
        move |source| StepError::During {
            doing,
            source: source.into(),
        }
    }

    /// What caused this error, outermost first, without lines the message already says.
    pub fn causes(&self) -> Vec<String> {
        let top = self.to_string();
        let mut out: Vec<String> = Vec::new();
        let mut next = std::error::Error::source(self);
        if let StepError::Call(inner) = self {
            next = inner.source();
        }
        while let Some(cause) = next {
            let line = cause.to_string();
            if !top.contains(&line) && !out.iter().any(|o| o.contains(&line)) {
                out.push(line);
            }
            next = cause.source();
        }
        out
    }
}

static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-v`: print each error's causes under its one line, and paved's debug logs.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, std::sync::atomic::Ordering::Relaxed);
}

fn verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed) || tracing::enabled!(tracing::Level::DEBUG)
}

/// How a step prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// Diagnostics go to stderr, filtered by `PAVED_LOG` (an env-filter: default `error,paved=info`,
/// so paved's own progress shows and the SDKs' warnings, such as the instance metadata probe
/// without credentials, do not; `PAVED_LOG=debug` shows everything).
pub fn init_tracing() {
    let default = if VERBOSE.load(std::sync::atomic::Ordering::Relaxed) {
        "error,paved=debug"
    } else {
        "error,paved=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAVED_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
}

/// Output into a pipe whose reader has gone (`paved render x | head -1`) ends the process quietly,
/// as for other command-line tools, instead of a panic on the failed write: the default action
/// of SIGPIPE, which Rust's runtime sets to ignored.
pub fn quiet_on_closed_pipe() {
    // SAFETY: restoring a signal's default disposition at startup, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Print a spec error for people and, inside GitHub Actions, as an error annotation per problem
/// (so each shows on the pull request's diff at its line).
pub fn report_spec_error(e: &SpecError) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprint!("{}", e.render(color));
    for p in e.problems() {
        let help = p
            .help
            .as_deref()
            .map(|h| format!(" (help: {h})"))
            .unwrap_or_default();
        crate::actions::error_at(
            p.file(),
            p.loc.line,
            p.loc.column,
            match crate::spec::is_star(std::path::Path::new(p.file())) {
                true => crate::spec::STAR_FILE,
                false => crate::spec::SPEC_FILE,
            },
            &format!("{}{help}", p.message),
        );
    }
}

/// Print a step's failure for people (and as annotations inside Actions).
pub fn report(step: &str, err: &StepError) {
    match err {
        StepError::Spec(spec) => report_spec_error(spec),
        other => {
            eprintln!("error: {step}: {other}");
            if verbose() {
                for cause in other.causes() {
                    eprintln!("  caused by: {cause}");
                }
            }
            if actions::in_actions() {
                println!(
                    "::error title=paved {step}::{}",
                    actions::escape_data(&other.to_string())
                );
            }
        }
    }
}

/// The app's name for the ledger: the spec's, or the argument's last part when the spec does
/// not load (the step then reports that error itself).
pub fn app_name(app: &str) -> String {
    crate::spec::load(app).map_or_else(
        |_| {
            if let Some((_, name)) = app.rsplit_once('#') {
                return name.to_string();
            }
            let dir = app
                .trim_end_matches(&format!("/{}", crate::spec::SPEC_FILE))
                .trim_end_matches(&format!("/{}", crate::spec::STAR_FILE));
            std::path::Path::new(dir)
                .file_name()
                .map_or_else(|| app.to_string(), |n| n.to_string_lossy().into_owned())
        },
        |l| l.spec.name,
    )
}

/// Run a step's work inside a log group, then record how it ended in GitHub (the deployment's
/// status and the pull request's comment). `report` returns None for runs that change nothing
/// (dry runs, diffs). Recording never changes the step's result.
/// The digest of `repository:tag` in the app's ECR repository, or, when `registry` stands in
/// for ECR's (the test bed, a mirror), in that registry by the distribution API as builds ask
/// it.
pub async fn image_digest(
    registry: Option<&str>,
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    tag: &str,
) -> Result<Option<String>, StepError> {
    match registry {
        Some(registry) => {
            crate::registry::Registry::new(registry, crate::registry::Auth::Anonymous)
                .manifest_digest(repository, tag)
                .await
                .map_err(StepError::failed)
        }
        None => crate::aws::ecr::image_digest(ecr, repository, tag)
            .await
            .map_err(StepError::failed),
    }
}

pub async fn recorded<T>(
    phase: Phase,
    app: &str,
    ledger: &LedgerArgs,
    work: impl std::future::Future<Output = Result<T, StepError>>,
    report: impl FnOnce(&T) -> Option<Report>,
) -> Result<T, StepError> {
    let start = std::time::Instant::now();
    let result = {
        let _group = actions::group(&format!("paved {}", phase.as_str()));
        work.await
    };
    if let Some(ledger) = Ledger::open(&app_name(app), ledger) {
        let report = match &result {
            Ok(v) => report(v),
            Err(e) => Some(Report::failed(
                phase,
                &e.to_string(),
                matches!(e, StepError::Spec(_) | StepError::BadInput(_)),
            )),
        };
        if let Some(r) = report {
            ledger.record(&r, start.elapsed().as_secs_f64()).await;
        }
    }
    result
}

/// Run a step's future on a fresh runtime and turn its result into an exit code.
pub fn block_on<T>(
    step: &str,
    fut: impl std::future::Future<Output = Result<T, StepError>>,
    done: impl FnOnce(T) -> u8,
) -> u8 {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {step}: cannot start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    match runtime.block_on(fut) {
        Ok(v) => done(v),
        Err(e) => {
            report(step, &e);
            e.exit_code()
        }
    }
}

/// The exit code after a step's result was published.
pub fn finish(step: &str, published: std::io::Result<()>) -> u8 {
    match published {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {step}: cannot write the step outputs: {e}");
            exit::FAILED
        }
    }
}

/// The whole `main` of a `paved-<step>` binary: parse the step's `Args`, run it, exit with its
/// code. `step_main!("paved-teardown", teardown, "about", "exit codes")`.
#[macro_export]
macro_rules! step_main {
    ($name:literal, $module:ident, $about:literal, $exits:literal) => {
        #[derive(clap::Parser)]
        #[command(name = $name, version, about = $about, after_help = $exits)]
        struct Cli {
            /// Say more: each error's causes under its line, and paved's debug logs
            #[arg(short, long)]
            verbose: bool,
            #[command(flatten)]
            args: $crate::steps::$module::Args,
        }

        fn main() -> std::process::ExitCode {
            $crate::steps::quiet_on_closed_pipe();
            let cli = <Cli as clap::Parser>::parse();
            $crate::steps::set_verbose(cli.verbose);
            std::process::ExitCode::from($crate::steps::$module::execute(cli.args))
        }
    };
}
