//! The `paved` command line: every subcommand's arguments and what it runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use paved::steps::hash::HashArgs;
use paved::steps::plan::PlanArgs;
use paved::steps::{quiet_on_closed_pipe, report_spec_error};
use paved_core::exit;
use paved_core::plan::{Live, plan};
use paved_core::render::{RenderOptions, render, to_yaml_stream};
use paved_core::spec::{self, SPEC_FILE, STAR_FILE};

#[derive(Debug, Parser)]
#[command(
    name = "paved",
    version,
    about = "Ship kubeapps to EKS: content-hash image builds, one cluster per app, blue/green DNS cutover",
    long_about = "paved deploys kubeapps (services declared in kubeapp.yaml or kubeapp.star) to their own EKS clusters.\n\
                  A deploy plans (rolling or blue/green), builds the image unless the registry already has its content hash,\n\
                  creates a cluster when the cluster spec changed, applies and verifies the Kubernetes objects,\n\
                  moves DNS traffic in checked steps and tears the old cluster down.",
    after_help = "Exit codes: 0 ok, 1 failed, 2 bad input, 3 verification failed.\n\
                  An <APP> is a kubeapp.yaml or kubeapp.star, a directory holding one, or an app's name under apps/;\n\
                  <file>#<name> picks one app of a kubeapp.star that describes several."
)]
pub struct Cli {
    /// Say more: each error's causes under its line, and paved's debug logs (PAVED_LOG still
    /// chooses the logs when set)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a deploy would do: objects, cluster and its hash, DNS, strategy and why
    Plan(PlanArgs),
    /// Print the Kubernetes objects of an app as multi-document YAML
    Render(RenderArgs),
    /// Check kubeapp.yaml and kubeapp.star files; every problem is reported with file:line:column (exit 2 if any)
    Validate(ValidateArgs),
    /// Print the JSON Schema of kubeapp.yaml (for editors and CI)
    Schema,
    /// Print the content hash of an app's image inputs, what went into it, or what changed
    Hash(HashArgs),
    /// Build and push the app's image unless the registry already has its content hash
    BuildImage(paved::steps::build_image::Args),
    /// Server-side apply the app's objects to a cluster (EKS color or kubeconfig context), prune, diff
    ApplySpecs(paved::steps::apply_specs::Args),
    /// Check what the app's cluster needs from the account (subnets, roles, endpoint, zone), one line per check
    Doctor(paved::steps::doctor::Args),
    /// Create (or adopt) the app's EKS cluster of one color, its nodegroups and their tags
    CreateCluster(paved::steps::create_cluster::Args),
    /// Move the app's DNS traffic to one color in checked steps (also the manual rollback)
    SwitchTraffic(paved::steps::switch_traffic::Args),
    /// Delete one color of an app: load-balanced Services, nodegroups, cluster, DNS record
    Teardown(paved::steps::teardown::Args),
    /// Follow the rollout, wait for the load balancer, run the HTTP checks, mark the cluster verified
    Verify(paved::steps::verify::Args),
    /// Plan and run every step in one process (resumable; --target local for kind/k3d/minikube)
    Deploy(paved::steps::deploy::Args),
    /// Deploy an earlier deployment's image by digest again, recorded as a new deployment
    Rollback(paved::steps::rollback::RollbackArgs),
    /// The app's deployments from GitHub, newest first, with what each deployed and its status
    History(paved::steps::history::HistoryArgs),
    /// Mark old GitHub deployments inactive and delete them, never the active one
    PruneDeployments(paved::steps::history::PruneArgs),
    /// The fleet in one table: live color and weights, clusters, image, drift, pending teardown, last deployment
    Status(paved::steps::status::Args),
    /// Run a command (kubectl, helm, a script) against each app's cluster, output prefixed app/color
    Exec(paved::steps::exec::Args),
    /// Find what costs money and serves nothing (idle colors, orphan clusters, dangling records, expired locks); exit 1 if any
    Janitor(paved::steps::janitor::Args),
    /// Print the IAM policy the workflow's role needs: the AWS actions of each step
    IamPolicy(paved::steps::iam_policy::Args),
    /// Print an ExecCredential with an EKS token (kubectl's exec plugin)
    Token(paved::steps::kubeconfig::TokenArgs),
    /// Write a kubeconfig with a context per cluster (`kubectl --context hello-blue ...`)
    Kubeconfig(paved::steps::kubeconfig::KubeconfigArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    /// The image reference every container runs (default: `<repository>:unbuilt`)
    #[arg(long, conflicts_with = "spec")]
    pub image: Option<String>,
    /// Print the app's spec instead, as paved read it: a kubeapp.star evaluated, a kubeapp.yaml
    /// merged with the files it extends (saved as a kubeapp.yaml, it describes the same app)
    #[arg(long)]
    pub spec: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// kubeapp.yaml files, app directories, or directories of apps (such as apps/)
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    paved::steps::set_verbose(cli.verbose);
    ExitCode::from(run(cli))
}

/// Run a parsed command; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Deploy(args) => paved::steps::deploy::execute(args),
        Command::IamPolicy(args) => paved::steps::iam_policy::execute(args),
        Command::Status(args) => paved::steps::status::execute(args),
        Command::Exec(args) => paved::steps::exec::execute(args),
        Command::Janitor(args) => paved::steps::janitor::execute(args),
        Command::Rollback(args) => paved::steps::rollback::execute(args),
        Command::Plan(args) if args.live => paved::steps::plan::execute_live(args),
        Command::Plan(args) => with_app(&args.app, |loaded| {
            let mut plan = plan(&loaded, Live::Unknown, args.image.clone());
            plan.warn_support(loaded.spec.cluster.support, paved_core::support::today());
            print!("{}", plan.render(args.output));
            exit::OK
        }),
        Command::Render(args) if args.spec => with_app(&args.app, |loaded| {
            print!(
                "{}",
                spec::yaml::value_to_string(&loaded.tree.to_json()).unwrap_or_default()
            );
            exit::OK
        }),
        Command::Render(args) => with_app(&args.app, |loaded| {
            let image = args
                .image
                .clone()
                .unwrap_or_else(|| paved_core::plan::placeholder_image(&loaded.spec));
            print!(
                "{}",
                to_yaml_stream(&render(&loaded.spec, &RenderOptions { image }))
            );
            exit::OK
        }),
        Command::Validate(args) => validate(&args.paths),
        Command::Hash(args) => paved::steps::hash::execute(args),
        Command::BuildImage(args) => paved::steps::build_image::execute(args),
        Command::ApplySpecs(args) => paved::steps::apply_specs::execute(args),
        Command::Doctor(args) => paved::steps::doctor::execute(args),
        Command::CreateCluster(args) => paved::steps::create_cluster::execute(args),
        Command::SwitchTraffic(args) => paved::steps::switch_traffic::execute(args),
        Command::Teardown(args) => paved::steps::teardown::execute(args),
        Command::Verify(args) => paved::steps::verify::execute(args),
        Command::History(args) => paved::steps::history::execute_history(args),
        Command::PruneDeployments(args) => paved::steps::history::execute_prune(args),
        Command::Token(args) => paved::steps::kubeconfig::execute_token(args),
        Command::Kubeconfig(args) => paved::steps::kubeconfig::execute_kubeconfig(args),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&spec::json_schema()).unwrap_or_default()
            );
            exit::OK
        }
    }
}

fn with_app(given: &str, f: impl FnOnce(spec::LoadedApp) -> u8) -> u8 {
    match spec::load(given) {
        Ok(loaded) => f(loaded),
        Err(e) => {
            report_spec_error(&e);
            exit::BAD_INPUT
        }
    }
}

/// The kubeapp files a validate argument stands for: the file, or every kubeapp.yaml and
/// kubeapp.star below the directory (a repository root finds apps/*/kubeapp.*), skipping hidden
/// directories and build output. A directory holding both is reported as an error.
fn expand(path: &Path) -> Vec<Result<PathBuf, spec::SpecError>> {
    if path.is_file() {
        return vec![Ok(path.to_path_buf())];
    }
    let mut found = Vec::new();
    let mut dirs = vec![(path.to_path_buf(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        match spec::spec_file_in(&dir) {
            Ok(Some(file)) => found.push(Ok(file)),
            Ok(None) => {}
            Err(e) => found.push(Err(e)),
        }
        // Apps live a few levels down; a deeper tree is not searched.
        if depth == 6 {
            continue;
        }
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let skipped = name.starts_with('.') || name == "target" || name == "node_modules";
            if !skipped && entry.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push((entry.path(), depth + 1));
            }
        }
    }
    found.sort_by_key(|f| f.as_ref().ok().cloned());
    found
}

fn validate(paths: &[PathBuf]) -> u8 {
    let mut code = exit::OK;
    for given in paths {
        if !given.exists() {
            eprintln!("error: {} does not exist", given.display());
            code = exit::BAD_INPUT;
            continue;
        }
        let files = expand(given);
        if files.is_empty() {
            eprintln!(
                "error: no {SPEC_FILE} or {STAR_FILE} at {} or in its subdirectories",
                given.display()
            );
            code = exit::BAD_INPUT;
        }
        for file in files {
            match file.and_then(|file| spec::load_all(&file)) {
                Ok(apps) => {
                    for app in apps {
                        println!("ok: {} ({})", app.address, app.spec.name);
                    }
                }
                Err(e) => {
                    report_spec_error(&e);
                    code = exit::BAD_INPUT;
                }
            }
        }
    }
    code
}
