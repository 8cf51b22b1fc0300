//! The deploy's record in GitHub, written by every step: the deployment's statuses (the
//! Deployments tab is the history) and one pull-request comment per app whose table gains a row
//! per phase. Steps run in separate jobs, so the comment carries its own state (base64 JSON in a
//! hidden line) and each step merges its row into what it reads.
//!
//! Writes are best-effort: a step that moved traffic must not fail because GitHub did not
//! answer, so a failed write becomes a warning annotation instead.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::Context;
use paved_wait::{Attempt, Backoff};

use super::rest::{GitHub, GitHubError};
use paved_actions as actions;

/// Rounds of write-and-check against parallel jobs writing the same comment.
const SETTLE_ROUNDS: Backoff = Backoff {
    first: Duration::ZERO,
    max: Duration::ZERO,
    attempts: 3,
};

/// Why a round of writing the comment did not stick.
#[derive(Debug, thiserror::Error)]
enum CommentRace {
    #[error("another job's write replaced our rows")]
    Overwritten,
    #[error(transparent)]
    GitHub(GitHubError),
}

/// Where a step reports, for every step that takes part in a deploy.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct LedgerArgs {
    /// The GitHub deployment this step reports to: `paved plan --record`'s `deployment-id` output
    #[arg(long, env = "PAVED_DEPLOYMENT_ID", hide_env_values = true)]
    pub deployment_id: Option<u64>,
    /// Write nothing to GitHub (no deployment status, no pull-request comment). Without
    /// GITHUB_TOKEN and GITHUB_REPOSITORY nothing is written anyway
    #[arg(long, env = "PAVED_NO_LEDGER", hide_env_values = true)]
    pub no_ledger: bool,
}

/// Which GitHub environment an app's deployments belong to.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct EnvironmentArgs {
    /// The GitHub environment of the app's deployments [default: the app's name, or
    /// <app>/<stage> with --stage]
    #[arg(long)]
    pub environment: Option<String>,
    /// A stage (staging, production...): the environment becomes <app>/<stage>
    #[arg(long, conflicts_with = "environment")]
    pub stage: Option<String>,
    /// Whether end users are served from this environment (GitHub's production_environment,
    /// which also keeps auto_inactive from retiring its deployments) [default: true without a
    /// stage or with stage production, else false]
    #[arg(long, value_name = "BOOL")]
    pub production: Option<bool>,
}

impl EnvironmentArgs {
    pub fn is_production(&self) -> bool {
        self.production.unwrap_or(match self.stage.as_deref() {
            None => true,
            Some(stage) => stage.eq_ignore_ascii_case("production"),
        })
    }

    pub fn name(&self, app: &str) -> String {
        match (&self.environment, &self.stage) {
            (Some(e), _) => e.clone(),
            (None, Some(stage)) => format!("{app}/{stage}"),
            (None, None) => app.to_string(),
        }
    }
}

/// The phases of a deploy, in the order the comment lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Plan,
    Image,
    Cluster,
    Apply,
    Verify,
    Traffic,
    Teardown,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Plan => "plan",
            Phase::Image => "image",
            Phase::Cluster => "cluster",
            Phase::Apply => "apply",
            Phase::Verify => "verify",
            Phase::Traffic => "traffic",
            Phase::Teardown => "teardown",
        }
    }
}

/// How a phase ended, as the comment shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Done,
    Skipped,
    Failed,
    /// A plan on a pull request: what a merge would do.
    Planned,
}

impl Outcome {
    fn mark(self) -> &'static str {
        match self {
            Outcome::Done => "✅",
            Outcome::Skipped => "⏭️",
            Outcome::Failed => "❌",
            Outcome::Planned => "📝",
        }
    }
}

/// What the deployment's status becomes after a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployState {
    /// Leave the deployment alone (teardown runs after the deploy succeeded).
    Unchanged,
    Queued,
    InProgress,
    Success,
    /// Success when the deployment is a rolling one (verify is its last phase), else in progress.
    SuccessIfRolling,
    Failure,
    Error,
}

impl DeployState {
    fn api_name(self) -> Option<&'static str> {
        match self {
            DeployState::Unchanged | DeployState::SuccessIfRolling => None,
            DeployState::Queued => Some("queued"),
            DeployState::InProgress => Some("in_progress"),
            DeployState::Success => Some("success"),
            DeployState::Failure => Some("failure"),
            DeployState::Error => Some("error"),
        }
    }
}

/// What a step tells the ledger when it ends.
#[derive(Debug, Clone)]
pub struct Report {
    pub phase: Phase,
    pub outcome: Outcome,
    /// The comment's cell: markdown, one line.
    pub detail: String,
    /// The deployment status's description (GitHub keeps 140 characters).
    pub description: String,
    pub state: DeployState,
    /// The app's URL, for the status that makes the deployment live.
    pub environment_url: Option<String>,
    /// More rows (a plan on a pull request lists every phase a merge would run).
    pub more: Vec<(Phase, Outcome, String)>,
    /// Markdown under the table (the plan itself).
    pub details: String,
}

impl Report {
    pub fn new(phase: Phase, outcome: Outcome, detail: impl Into<String>) -> Report {
        let detail = detail.into();
        Report {
            phase,
            outcome,
            description: format!("{}: {}", phase.as_str(), strip_markdown(&detail)),
            detail,
            state: DeployState::InProgress,
            environment_url: None,
            more: Vec::new(),
            details: String::new(),
        }
    }

    pub fn state(mut self, state: DeployState) -> Report {
        self.state = state;
        self
    }

    pub fn url(mut self, url: Option<String>) -> Report {
        self.environment_url = url;
        self
    }

    /// A phase that failed: the deployment fails with the error's first line. A bad spec or
    /// flag is an error (nothing was attempted); anything else a failure.
    pub fn failed(phase: Phase, error: &str, bad_input: bool) -> Report {
        let first = error.lines().next().unwrap_or_default();
        Report::new(phase, Outcome::Failed, first).state(if bad_input {
            DeployState::Error
        } else {
            DeployState::Failure
        })
    }
}

fn strip_markdown(text: &str) -> String {
    text.replace('`', "")
}

/// A row of the comment's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub outcome: Outcome,
    pub detail: String,
    pub seconds: f64,
}

/// What the comment shows, kept inside the comment so every step can add its row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommentState {
    pub app: String,
    /// The commit the rows are about; a new commit starts a new table.
    pub sha: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    pub rows: BTreeMap<Phase, Row>,
    /// Markdown shown under the table (a pull request's plan).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
}

const STATE_PREFIX: &str = "<!-- paved-state:";

impl CommentState {
    /// The state a comment body carries, if it is paved's.
    pub fn parse(body: &str) -> Option<CommentState> {
        let line = body.lines().find(|l| l.starts_with(STATE_PREFIX))?;
        let encoded = line.strip_prefix(STATE_PREFIX)?.strip_suffix(" -->")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The comment's markdown (after the marker line).
    pub fn render(&self) -> String {
        let title = if self.rows.values().all(|r| r.outcome == Outcome::Planned) {
            format!("### paved: what merging deploys for `{}`", self.app)
        } else {
            format!("### paved deploy of `{}`", self.app)
        };
        let mut out = format!("{title}\n\n| phase | | result | time |\n|---|---|---|---|\n");
        for (phase, row) in &self.rows {
            let time = if row.seconds > 0.0 {
                format!("{:.1} s", row.seconds)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "| {} | {} | {} | {time} |\n",
                phase.as_str(),
                row.outcome.mark(),
                row.detail.replace('|', "\\|").replace('\n', " ")
            ));
        }
        let mut links = vec![format!(
            "commit `{}`",
            self.sha.chars().take(7).collect::<String>()
        )];
        if let Some(id) = self.deployment {
            links.push(format!("deployment {id}"));
        }
        if let Some(run) = &self.run_url {
            links.push(format!("[run]({run})"));
        }
        out.push_str(&format!("\n{}\n", links.join(" · ")));
        if !self.details.is_empty() {
            out.push_str(&format!(
                "\n<details><summary>plan</summary>\n\n{}\n</details>\n",
                self.details
            ));
        }
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(serde_json::to_vec(self).unwrap_or_default());
        out.push_str(&format!("{STATE_PREFIX}{encoded} -->\n"));
        out
    }
}

/// The ledger of one app in one run.
pub struct Ledger {
    gh: GitHub,
    ctx: Context,
    app: String,
    pub deployment: Option<u64>,
    /// How long to wait before checking that a parallel job did not overwrite our row.
    settle: Duration,
}

/// Deployment states of a run that has not finished.
const UNFINISHED: &[&str] = &["pending", "queued", "in_progress"];

/// See [`Ledger::previous`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previous {
    pub active: Option<u64>,
    pub unfinished: Vec<u64>,
}

impl Ledger {
    /// A ledger when GitHub can be written to (a token and a repository) and not switched off.
    pub fn open(app: &str, args: &LedgerArgs) -> Option<Ledger> {
        if args.no_ledger {
            return None;
        }
        let ctx = Context::from_env();
        Ledger::with_context(app, args.deployment_id, ctx)
    }

    pub fn with_context(app: &str, deployment: Option<u64>, ctx: Context) -> Option<Ledger> {
        if ctx.repository.is_empty() {
            return None;
        }
        let gh = GitHub::new(&ctx).ok()?;
        let settle = std::env::var("PAVED_COMMENT_SETTLE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_millis(1500), Duration::from_millis);
        Some(Ledger {
            gh,
            ctx,
            app: app.to_string(),
            deployment,
            settle,
        })
    }

    /// Set how long to wait before checking a written comment kept our row.
    pub fn settle(mut self, settle: Duration) -> Ledger {
        self.settle = settle;
        self
    }

    pub fn github(&self) -> &GitHub {
        &self.gh
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Create the deployment of this run's commit in `environment`, queued.
    pub async fn start_deployment(
        &mut self,
        environment: &str,
        production: bool,
        payload: &Value,
        description: &str,
    ) -> Result<u64, GitHubError> {
        let id = self
            .gh
            .create_deployment(&self.ctx.sha, environment, production, description, payload)
            .await?;
        self.deployment = Some(id);
        self.gh
            .create_status(id, "queued", description, None, self.ctx.run_url.as_deref())
            .await?;
        Ok(id)
    }

    /// How earlier runs left `environment`: the newest deployment whose latest status is
    /// success, and those never finished (a run killed or cancelled midway).
    pub async fn previous(&self, environment: &str) -> Result<Previous, GitHubError> {
        let history = self.gh.history(environment).await?;
        Ok(Previous {
            active: history.iter().find(|e| e.state == "success").map(|e| e.id),
            unfinished: history
                .iter()
                .filter(|e| UNFINISHED.contains(&e.state.as_str()))
                .map(|e| e.id)
                .collect(),
        })
    }

    /// Close deployments an interrupted run left open, so the Deployments tab shows no deploy
    /// in progress that is not. Only called once this run holds the app (its deploy lock, or
    /// the workflow's concurrency group), so an open one cannot be running. Failures are
    /// warnings: the history stays readable either way.
    pub async fn close_unfinished(&self, unfinished: &[u64], superseded_by: u64) {
        for id in unfinished {
            let description = format!("interrupted; superseded by deployment {superseded_by}");
            if let Err(e) = self
                .gh
                .create_status(*id, "error", &description, None, None)
                .await
            {
                actions::warning(&format!("could not close deployment {id}: {e}"));
            }
        }
    }

    /// The pull requests of this run: the event's, else those the commit belongs to (a push
    /// to main after a merge).
    pub async fn pulls(&self) -> Result<Vec<u64>, GitHubError> {
        if let Some(n) = self.ctx.pull_request() {
            return Ok(vec![n]);
        }
        if self.ctx.sha.is_empty() {
            return Ok(Vec::new());
        }
        self.gh.commit_pulls(&self.ctx.sha).await
    }

    /// Record a phase: the deployment's status and the comment's row. Returns the warnings of
    /// what could not be written (also printed as annotations).
    pub async fn record(&self, report: &Report, seconds: f64) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Err(e) = self.post_status(report).await {
            warnings.push(format!("the deployment status was not recorded: {e}"));
        }
        if let Err(e) = self.update_comment(report, seconds).await {
            warnings.push(format!("the pull request comment was not updated: {e}"));
        }
        for w in &warnings {
            actions::warning(&format!("paved {}: {w}", report.phase.as_str()));
            tracing::warn!("{w}");
        }
        warnings
    }

    async fn post_status(&self, report: &Report) -> Result<(), GitHubError> {
        let Some(id) = self.deployment else {
            return Ok(());
        };
        let state = match report.state {
            DeployState::SuccessIfRolling => {
                let d = self.gh.deployment(id).await?;
                if d.payload["strategy"].as_str() == Some("rolling") {
                    DeployState::Success
                } else {
                    DeployState::InProgress
                }
            }
            other => other,
        };
        let Some(name) = state.api_name() else {
            return Ok(());
        };
        let url = if state == DeployState::Success {
            report.environment_url.as_deref()
        } else {
            None
        };
        self.gh
            .create_status(
                id,
                name,
                &report.description,
                url,
                self.ctx.run_url.as_deref(),
            )
            .await
    }

    async fn update_comment(&self, report: &Report, seconds: f64) -> Result<(), GitHubError> {
        let row = Row {
            outcome: report.outcome,
            detail: report.detail.clone(),
            seconds: (seconds * 10.0).round() / 10.0,
        };
        let more = report.more.iter().map(|(phase, outcome, detail)| {
            let row = Row {
                outcome: *outcome,
                detail: detail.clone(),
                seconds: 0.0,
            };
            (*phase, row)
        });
        let rows: Vec<(Phase, Row)> = std::iter::once((report.phase, row.clone()))
            .chain(more)
            .collect();
        for pull in self.pulls().await? {
            // Parallel jobs (build-image and create-cluster) may write in between, or both create
            // the comment: write, let them settle, fold duplicates into the oldest comment and
            // write again if our row is gone (three rounds; then the other job's write stands).
            let written = paved_wait::retry("the pull request comment", SETTLE_ROUNDS, |_| async {
                if let Err(e) = self.write_rows(pull, report, &row, &rows).await {
                    return Attempt::Failed(CommentRace::GitHub(e));
                }
                if self.settle.is_zero() {
                    return Attempt::Done(());
                }
                paved_wait::pause("other jobs' writes to the comment", self.settle).await;
                match self.kept(pull, &rows).await {
                    Ok(true) => Attempt::Done(()),
                    Ok(false) => Attempt::Again {
                        error: CommentRace::Overwritten,
                        after: Some(Duration::ZERO),
                    },
                    Err(e) => Attempt::Failed(CommentRace::GitHub(e)),
                }
            })
            .await;
            if let Err(CommentRace::GitHub(e)) = written {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Write our rows into the app's comment, folding duplicates into the oldest.
    async fn write_rows(
        &self,
        pull: u64,
        report: &Report,
        row: &Row,
        rows: &[(Phase, Row)],
    ) -> Result<(), GitHubError> {
        let found = self.gh.find_comments(pull, &self.app).await?;
        let mut state = self.merge(found.first(), report, row);
        for (_, body) in found.iter().skip(1) {
            if let Some(other) = CommentState::parse(body).filter(|o| o.sha == state.sha) {
                for (phase, r) in other.rows {
                    state.rows.entry(phase).or_insert(r);
                }
            }
        }
        state.rows.extend(rows.iter().cloned());
        if !report.details.is_empty() {
            state.details = report.details.clone();
        }
        let keep = found.first().map(|c| c.0);
        self.gh
            .save_comment(pull, keep, &self.app, &state.render())
            .await?;
        for (duplicate, _) in found.iter().skip(1) {
            self.gh.delete_comment(*duplicate).await?;
        }
        Ok(())
    }

    /// Whether the app has one comment and it still holds our rows.
    async fn kept(&self, pull: u64, rows: &[(Phase, Row)]) -> Result<bool, GitHubError> {
        let after = self.gh.find_comments(pull, &self.app).await?;
        Ok(after.len() == 1
            && CommentState::parse(&after[0].1)
                .is_some_and(|s| rows.iter().all(|(p, r)| s.rows.get(p) == Some(r))))
    }

    /// The state to write: what the comment holds for this commit, or a fresh table.
    fn merge(&self, existing: Option<&(u64, String)>, report: &Report, row: &Row) -> CommentState {
        let sha = self.ctx.head_sha().to_string();
        let mut state = existing
            .and_then(|(_, body)| CommentState::parse(body))
            .filter(|s| {
                s.sha == sha && (report.phase != Phase::Plan || s.deployment == self.deployment)
            })
            .unwrap_or_else(|| CommentState {
                app: self.app.clone(),
                sha: sha.clone(),
                ..CommentState::default()
            });
        // A deploy's rows replace a pull request's plan, and a new plan replaces an old one.
        if row.outcome != Outcome::Planned || report.phase == Phase::Plan {
            state.rows.retain(|_, r| r.outcome != Outcome::Planned);
            state.details.clear();
        }
        if self.deployment.is_some() {
            state.deployment = self.deployment;
        }
        state.run_url = self.ctx.run_url.clone();
        state
    }
}

/// The deployment payload: what was deployed, so history can show it and rollback redeploy it.
#[allow(clippy::too_many_arguments)]
pub fn payload(
    app: &str,
    color: &str,
    cluster: &str,
    image: &str,
    digest: Option<&str>,
    content_hash: &str,
    cluster_hash: &str,
    strategy: &str,
    previous: Option<u64>,
) -> Value {
    json!({
        "app": app,
        "color": color,
        "cluster": cluster,
        "image": image,
        "digest": digest,
        "content_hash": content_hash,
        "cluster_hash": cluster_hash,
        "strategy": strategy,
        "previous_deployment": previous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comment_state_survives_its_own_rendering() {
        let mut s = CommentState {
            app: "hello".into(),
            sha: "0123456789".into(),
            deployment: Some(9),
            run_url: Some("https://github.com/a/b/actions/runs/1".into()),
            ..CommentState::default()
        };
        s.rows.insert(
            Phase::Verify,
            Row {
                outcome: Outcome::Done,
                detail: "a | b --> `c`".into(),
                seconds: 1.5,
            },
        );
        s.rows.insert(
            Phase::Image,
            Row {
                outcome: Outcome::Skipped,
                detail: "in ECR".into(),
                seconds: 0.2,
            },
        );
        let body = s.render();
        assert_eq!(CommentState::parse(&body), Some(s));
        let image = body.find("| image |").expect("image row");
        let verify = body.find("| verify |").expect("verify row");
        assert!(image < verify, "rows follow the phases' order:\n{body}");
        assert!(body.contains("a \\| b"), "pipes are escaped:\n{body}");
        assert!(body.contains("deployment 9") && body.contains("[run]("));
    }

    #[test]
    fn a_failed_phase_fails_the_deployment_unless_the_input_was_bad() {
        let r = Report::failed(Phase::Verify, "crash loop\nlogs...", false);
        assert_eq!(r.state, DeployState::Failure);
        assert_eq!(r.detail, "crash loop");
        let r = Report::failed(Phase::Plan, "bad spec", true);
        assert_eq!(r.state, DeployState::Error);
    }
}

#[cfg(test)]
mod production {
    use super::EnvironmentArgs;

    fn env(stage: Option<&str>, production: Option<bool>) -> EnvironmentArgs {
        EnvironmentArgs {
            environment: None,
            stage: stage.map(String::from),
            production,
        }
    }

    #[test]
    fn only_production_stages_are_production_environments() {
        assert!(env(None, None).is_production());
        assert!(env(Some("Production"), None).is_production());
        assert!(!env(Some("staging"), None).is_production());
        assert!(env(Some("eu"), Some(true)).is_production());
        assert!(!env(None, Some(false)).is_production());
    }
}
