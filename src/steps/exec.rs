//! `paved exec [--all | <app>...] -- <command...>`: one command (kubectl, helm, a script) run
//! against each app's cluster, a few at a time. Each run gets its own KUBECONFIG, a file in a
//! private temporary directory removed when the command ends, whose user asks `paved token` for
//! a freshly signed EKS token; output comes back line by line, prefixed `app/color`, or grouped.
//!
//! The clusters are found the way `paved status` reads the fleet (one cluster list per region,
//! Route 53 a zone at a time), so the AWS calls grow with the apps, not with their records.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::aws::AwsArgs;
use crate::plan::Color;

use super::status::{self, AppStatus};
use super::{Output, StepError};

/// Which of an app's clusters a command runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// The color that serves the app's traffic (the only cluster of an app without DNS)
    Live,
    Blue,
    Green,
}

/// Run a command once per app cluster.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Each run sees KUBECONFIG (one context, the cluster's) and PAVED_APP, \
    PAVED_COLOR, PAVED_CLUSTER, PAVED_REGION.\n\
    Exit 0 when every run exited 0; 1 when one failed or a cluster could not be reached.\n\
    Example: paved exec --all -- kubectl get pods -A"
)]
pub struct Args {
    /// Apps: kubeapp.yaml files, their directories, or names under apps/
    #[arg(required_unless_present = "all")]
    pub apps: Vec<String>,
    /// Every app under --apps-dir
    #[arg(long, conflicts_with = "apps")]
    pub all: bool,
    /// Where --all finds the apps (<dir>/*/kubeapp.yaml)
    #[arg(long, default_value = "apps")]
    pub apps_dir: PathBuf,
    /// Which cluster of each app
    #[arg(long, value_enum, default_value = "live")]
    pub color: Which,
    /// How many commands run at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Print each cluster's output in one block when its command ends, instead of line by line
    #[arg(long)]
    pub group: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Reach the API servers here instead of their endpoints (a tunnel, a proxy):
    /// `<cluster>=<url>`, `<color>=<url>` or a URL for all, repeated (or PAVED_KUBE_ENDPOINT,
    /// comma-separated)
    #[arg(long, hide = true, env = "PAVED_KUBE_ENDPOINT", value_delimiter = ',')]
    pub kube_endpoint: Vec<String>,
    /// How to print: `json` collects each run's output and exit code
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// One cluster to run on.
#[derive(Debug, Clone)]
struct Target {
    app: String,
    color: Color,
    cluster: String,
    region: String,
    endpoint: String,
    certificate_authority: Option<String>,
}

impl Target {
    fn label(&self) -> String {
        format!("{}/{}", self.app, self.color)
    }
}

/// How one app's run went.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub app: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The command's exit code; `None` when it did not run or was killed by a signal.
    pub exit_code: Option<i32>,
    /// Why the command did not run (no such cluster, the command not found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The output, when collected (`--group`, `--output json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

impl Run {
    fn ok(&self) -> bool {
        self.exit_code == Some(0)
    }

    fn failed(app: &str, target: Option<&Target>, error: String) -> Run {
        Run {
            app: app.to_string(),
            color: target.map(|t| t.color),
            cluster: target.map(|t| t.cluster.clone()),
            exit_code: None,
            error: Some(error),
            stdout: None,
            stderr: None,
        }
    }
}

/// The cluster `which` names for an app, or why there is none; `--kube-endpoint` stands in for
/// its endpoint when it names the cluster or color (a plain-HTTP stand-in takes no CA).
fn target(app: &AppStatus, which: Which, endpoints: &[String]) -> Result<Target, String> {
    let color = match which {
        Which::Blue => Color::Blue,
        Which::Green => Color::Green,
        Which::Live => app.serving.ok_or_else(|| {
            if app.clusters.is_empty() {
                "no cluster".to_string()
            } else {
                "no color serves traffic: give --color blue or green".to_string()
            }
        })?,
    };
    let cluster = app
        .clusters
        .iter()
        .find(|c| c.color == color)
        .ok_or_else(|| format!("no {color} cluster"))?;
    if cluster.endpoint.is_empty() {
        return Err(format!(
            "{} has no API endpoint yet ({})",
            cluster.name, cluster.status
        ));
    }
    let (endpoint, certificate_authority) =
        match crate::kube::endpoint_named(endpoints, &[&cluster.name, color.as_str()]) {
            Some(url) if url.starts_with("http://") => (url, None),
            Some(url) => (url, cluster.certificate_authority.clone()),
            None => (
                cluster.endpoint.clone(),
                cluster.certificate_authority.clone(),
            ),
        };
    Ok(Target {
        app: app.app.clone(),
        color,
        cluster: cluster.name.clone(),
        region: app.region.clone(),
        endpoint,
        certificate_authority,
    })
}

/// A kubeconfig of one context whose user runs this very binary's `paved token`.
fn kubeconfig(target: &Target, paved: &Path, aws: &AwsArgs) -> serde_json::Value {
    let mut cluster = json!({ "server": target.endpoint });
    if let Some(ca) = &target.certificate_authority {
        cluster["certificate-authority-data"] = json!(ca);
    }
    let mut args = vec![
        "token".to_string(),
        target.cluster.clone(),
        "--region".to_string(),
        target.region.clone(),
    ];
    if let Some(profile) = &aws.profile {
        args.extend(["--profile".to_string(), profile.clone()]);
    }
    let name = &target.cluster;
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": name, "cluster": cluster }],
        "users": [{ "name": name, "user": { "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": paved.display().to_string(),
            "args": args,
            "interactiveMode": "Never",
            "provideClusterInfo": false,
        } } }],
        "contexts": [{ "name": name, "context": { "cluster": name, "user": name } }],
        "current-context": name,
    })
}

/// Run the command against one cluster. Lines are printed as they come unless `collect`.
async fn run_one(target: Target, args: &Args, paved: &Path, collect: bool) -> Run {
    let label = target.label();
    let dir = match tempfile::Builder::new().prefix("paved-exec-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            return Run::failed(
                &target.app,
                Some(&target),
                format!("temporary directory: {e}"),
            );
        }
    };
    let path = dir.path().join("kubeconfig");
    let doc = crate::spec::yaml::value_to_string(&kubeconfig(&target, paved, &args.aws))
        .unwrap_or_default();
    if let Err(e) = write_private(&path, &doc) {
        return Run::failed(&target.app, Some(&target), format!("kubeconfig: {e}"));
    }
    let mut command = tokio::process::Command::new(&args.command[0]);
    command
        .args(&args.command[1..])
        .env("KUBECONFIG", &path)
        .env("PAVED_APP", &target.app)
        .env("PAVED_COLOR", target.color.as_str())
        .env("PAVED_CLUSTER", &target.cluster)
        .env("PAVED_REGION", &target.region)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Run::failed(
                &target.app,
                Some(&target),
                format!("cannot run {}: {e}", args.command[0]),
            );
        }
    };
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Run::failed(&target.app, Some(&target), "no output pipes".into());
    };
    let (stdout, stderr, status) = tokio::join!(
        relay(out, &label, false, collect),
        relay(err, &label, true, collect),
        child.wait()
    );
    // The kubeconfig goes with its directory, whatever the command did.
    drop(dir);
    let exit_code = status.ok().and_then(|s| s.code());
    Run {
        app: target.app.clone(),
        color: Some(target.color),
        cluster: Some(target.cluster.clone()),
        exit_code,
        error: exit_code
            .is_none()
            .then(|| "killed by a signal".to_string()),
        stdout: collect.then_some(stdout),
        stderr: collect.then_some(stderr),
    }
}

/// Each line of a child's stream, printed with the cluster's label as it comes, or kept.
async fn relay(
    stream: impl tokio::io::AsyncRead + Unpin,
    label: &str,
    to_stderr: bool,
    collect: bool,
) -> String {
    let mut lines = BufReader::new(stream).lines();
    let mut kept = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if collect {
            kept.push_str(&line);
            kept.push('\n');
        } else if to_stderr {
            eprintln!("{label} | {line}");
        } else {
            println!("{label} | {line}");
        }
    }
    kept
}

/// A file only its owner may read: it names how to get a token for the cluster.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

pub async fn run(args: &Args) -> Result<Vec<Run>, StepError> {
    let paved = std::env::current_exe()
        .map_err(|e| StepError::Failed(format!("cannot find paved's own binary: {e}")))?;
    // The apps by their files, so that status reads them and not the orphans --all looks for.
    let apps: Vec<String> = status::load_apps(&args.apps, args.all, &args.apps_dir)?
        .into_iter()
        .map(|a| a.address.clone())
        .collect();
    let fleet = status::run(&status::Args {
        apps,
        all: false,
        apps_dir: args.apps_dir.clone(),
        aws: args.aws.clone(),
        stage: None,
        parallel: args.parallel,
        route53_rate: 4,
        registry: None,
        output: Output::Json,
    })
    .await?;
    let collect = args.group || args.output == Output::Json;
    let mut runs: Vec<Run> = futures::stream::iter(fleet.apps.iter())
        .map(|app| {
            let paved = paved.clone();
            async move {
                match target(app, args.color, &args.kube_endpoint) {
                    Ok(t) => {
                        let run = run_one(t, args, &paved, collect).await;
                        if args.group && args.output == Output::Text {
                            print_group(&run);
                        }
                        run
                    }
                    Err(e) => Run::failed(&app.app, None, e),
                }
            }
        })
        .buffer_unordered(usize::from(args.parallel))
        .collect()
        .await;
    runs.sort_by(|a, b| a.app.cmp(&b.app));
    Ok(runs)
}

fn print_group(run: &Run) {
    let color = run.color.map_or(String::new(), |c| format!("/{c}"));
    let mut block = format!("== {}{color} ==\n", run.app);
    block.push_str(run.stdout.as_deref().unwrap_or_default());
    print!("{block}");
    if let Some(err) = run.stderr.as_deref().filter(|e| !e.is_empty()) {
        eprint!("{err}");
    }
}

/// One line per run, then the count: to stderr, so that stdout holds the commands' output.
fn summary(runs: &[Run]) -> String {
    let mut out = String::new();
    for r in runs {
        let color = r.color.map_or(String::new(), |c| format!("/{c}"));
        let how = match (&r.error, r.exit_code) {
            (Some(e), _) => format!("not run: {e}"),
            (None, Some(code)) => format!("exit {code}"),
            (None, None) => "killed".to_string(),
        };
        out.push_str(&format!("{}{color}: {how}\n", r.app));
    }
    let failed = runs.iter().filter(|r| !r.ok()).count();
    out.push_str(&format!(
        "{} clusters: {} ok, {failed} failed\n",
        runs.len(),
        runs.len() - failed
    ));
    out
}

pub fn execute(args: Args) -> u8 {
    super::block_on("exec", run(&args), |runs| {
        match args.output {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&runs).unwrap_or_default()
            ),
            Output::Text => {
                for r in runs.iter().filter(|r| r.error.is_some()) {
                    let color = r.color.map_or(String::new(), |c| format!("/{c}"));
                    eprintln!(
                        "{}{color} | error: {}",
                        r.app,
                        r.error.as_deref().unwrap_or_default()
                    );
                }
                eprint!("{}", summary(&runs));
            }
        }
        if runs.iter().all(Run::ok) {
            crate::exit::OK
        } else {
            crate::exit::FAILED
        }
    })
}
