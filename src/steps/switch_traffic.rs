//! `paved-switch-traffic`: move the app's DNS weight to one color through the spec's steps,
//! each change a compare-and-swap, waited to INSYNC and the TTL, checked, and held. A failing
//! check restores the weights found at the start. Killed and re-run, it continues from the
//! weights it finds.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use aws_sdk_route53::types::ChangeAction;
use serde::Serialize;

use crate::aws::AwsArgs;
use crate::aws::eks::{self, tags};
use crate::aws::route53::{self, DnsState, Route53Error};
use crate::github::actions;
use crate::github::ledger::{DeployState, LedgerArgs, Outcome, Phase, Report};
use crate::plan::{Color, cluster_name};
use crate::spec::{self, Dns, KubeApp, units::parse_duration};
use crate::verify::checks;

use super::{Output, StepError};

/// Move the app's traffic to one color.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct Args {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The color to move traffic to (the new cluster, or the old one to roll back)
    #[arg(long)]
    pub to: Color,
    /// Weights of the target color, in percent, instead of the spec's steps (e.g. 100)
    #[arg(long, value_delimiter = ',')]
    pub steps: Option<Vec<u8>>,
    /// Point the records at this hostname instead of the load balancer verify recorded
    #[arg(long)]
    pub target: Option<String>,
    /// Send the HTTP checks here instead of http://<target>
    #[arg(long, env = "PAVED_CHECK_URL", hide_env_values = true)]
    pub check_url: Option<String>,
    /// The image this deployment verified (build-image's digest): the cluster's verified mark
    /// must name it, so a cluster verified for an earlier deployment gets no weight
    #[arg(long)]
    pub image: Option<String>,
    /// Give weight to a cluster verify has not marked verified (needs --reason)
    #[arg(long, requires = "reason")]
    pub force: bool,
    /// Why --force is needed; it goes to the log
    #[arg(long)]
    pub reason: Option<String>,
    /// Time between GetChange polls
    #[arg(long, default_value = "1s", hide = true, value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// How to print the result
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

impl Args {
    /// Move `app`'s traffic to `to` with the flags' defaults (what `paved deploy` runs).
    pub fn new(app: &str, to: Color) -> Args {
        Args {
            app: app.into(),
            aws: AwsArgs::default(),
            ledger: LedgerArgs::default(),
            to,
            steps: None,
            target: None,
            check_url: None,
            image: None,
            force: false,
            reason: None,
            poll_interval: Duration::from_secs(1),
            output: Output::Text,
        }
    }
}

/// What switch-traffic did.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchOutcome {
    pub to: Color,
    /// Target-color weights applied, in order.
    pub applied: Vec<u8>,
    /// Weights at the end, by color.
    pub weights: BTreeMap<Color, i64>,
    /// The app's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The image digest the target's verified mark names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
}

/// The spec's steps still ahead, given the target's current weight.
pub fn remaining_steps(current: i64, steps: &[u8]) -> Vec<u8> {
    steps
        .iter()
        .copied()
        .filter(|s| i64::from(*s) > current)
        .collect()
}

fn weights_of(state: &DnsState) -> BTreeMap<Color, i64> {
    state.records.iter().map(|r| (r.color, r.weight)).collect()
}

/// Refuse records paved did not create.
fn check_ownership(app: &KubeApp, name: &str, state: &DnsState) -> Result<(), StepError> {
    if !state.foreign.is_empty() {
        return Err(StepError::Failed(format!(
            "{name} has records paved does not manage ({}): remove them or pick another dns.name",
            state.foreign.join(", ")
        )));
    }
    match (&state.owner_app, state.records.is_empty()) {
        (_, true) => Ok(()),
        (Some(owner), false) if *owner == app.name => Ok(()),
        (Some(owner), false) => Err(StepError::Failed(format!(
            "the weighted records of {name} belong to app {owner}, not {}",
            app.name
        ))),
        (None, false) => Err(StepError::Failed(format!(
            "{name} has blue/green weighted records without paved's ownership record ({}): another controller manages them",
            route53::owner_record_name(name)
        ))),
    }
}

/// The change batch that sets each color's weight, deleting exactly what was read. Every
/// color's record becomes a weighted alias to its NLB: a record of an earlier form (a CNAME) is
/// replaced in the same batch, since Route 53 allows no CNAME beside other records of a name.
fn batch_for(
    app: &KubeApp,
    dns: &Dns,
    state: &DnsState,
    to: Color,
    target: &str,
    weights: &BTreeMap<Color, i64>,
) -> Result<Vec<aws_sdk_route53::types::Change>, Route53Error> {
    let ttl = i64::from(dns.ttl);
    let mut changes = Vec::new();
    for (color, weight) in weights {
        let existing = state.records.iter().find(|r| r.color == *color);
        let value = if *color == to {
            target.to_string()
        } else {
            match existing.and_then(|r| route53::record_target(&r.record)) {
                Some(v) => v,
                None => continue,
            }
        };
        if let Some(r) = existing {
            if route53::is_alias_to(&r.record, *weight, &value) {
                continue;
            }
            changes.push(route53::change(ChangeAction::Delete, r.record.clone())?);
        }
        changes.push(route53::change(
            ChangeAction::Create,
            route53::weighted_alias(&dns.name, *color, *weight, &value, &app.cluster.region)?,
        )?);
    }
    if state.owner.is_none() && !changes.is_empty() {
        changes.push(route53::change(
            ChangeAction::Create,
            route53::owner_txt(&dns.name, &app.name, ttl)?,
        )?);
    }
    Ok(changes)
}

/// The change batch that puts the records back as they were in `original`.
fn restore_batch(
    state: &DnsState,
    original: &DnsState,
) -> Result<Vec<aws_sdk_route53::types::Change>, Route53Error> {
    let mut changes = Vec::new();
    for now in &state.records {
        let before = original.records.iter().find(|r| r.color == now.color);
        if before.map(|b| &b.record) == Some(&now.record) {
            continue;
        }
        changes.push(route53::change(ChangeAction::Delete, now.record.clone())?);
        if let Some(b) = before {
            changes.push(route53::change(ChangeAction::Create, b.record.clone())?);
        }
    }
    Ok(changes)
}

/// The weights to move through, checked: percentages that end at 100.
fn traffic_steps(args: &Args, app: &KubeApp) -> Result<Vec<u8>, StepError> {
    let steps = args
        .steps
        .clone()
        .unwrap_or_else(|| app.deploy.traffic.steps.clone());
    if steps.last() != Some(&100) || steps.iter().any(|s| *s == 0 || *s > 100) {
        return Err(StepError::BadInput(
            "--steps must be percentages ending at 100".into(),
        ));
    }
    Ok(steps)
}

/// Invariant 1: weight only goes to a cluster verify passed for this deployment's image (or one
/// forced, with the reason logged). Returns the load balancer its records point at.
fn verified_target(
    args: &Args,
    name: &str,
    tags_of: &HashMap<String, String>,
) -> Result<String, StepError> {
    match (tags_of.get(tags::VERIFIED), args.force) {
        (Some(what), false)
            if args
                .image
                .as_ref()
                .is_some_and(|i| !i.ends_with(what.as_str())) =>
        {
            return Err(StepError::Failed(format!(
                "{name} was verified for {what}, not for {}: verify this deployment first",
                args.image.as_deref().unwrap_or_default()
            )));
        }
        (Some(what), _) => tracing::info!("{name} was verified ({what})"),
        (None, true) => tracing::warn!(
            "giving weight to {name}, which verify has not marked verified, because --force: {}",
            args.reason.as_deref().unwrap_or_default()
        ),
        (None, false) => {
            return Err(StepError::Failed(format!(
                "{name} has not passed verify (no {} tag): run paved verify first, or --force --reason \"...\"",
                tags::VERIFIED
            )));
        }
    }
    args.target
        .clone()
        .or_else(|| tags_of.get(tags::LB_HOSTNAME).cloned())
        .ok_or_else(|| {
            StepError::Failed(format!(
                "no load balancer recorded for {name}: give --target <hostname>"
            ))
        })
}

/// One app's weighted records in one zone, and how to change them.
struct Records<'a> {
    app: &'a KubeApp,
    r53: &'a aws_sdk_route53::Client,
    zone: String,
    name: String,
    poll: Duration,
    ttl: Duration,
}

impl Records<'_> {
    async fn read(&self) -> Result<DnsState, StepError> {
        route53::read_state(self.r53, &self.zone, &self.name)
            .await
            .map_err(StepError::failed)
    }

    /// Submit a batch (a compare-and-swap: it fails if the records changed since they were
    /// read), wait until Route 53 has it everywhere, then the TTL resolvers may cache the old
    /// answer for.
    async fn change(
        &self,
        changes: Vec<aws_sdk_route53::types::Change>,
        comment: &str,
    ) -> Result<(), StepError> {
        if changes.is_empty() {
            return Ok(());
        }
        let id = route53::submit(
            self.r53,
            &self.zone,
            changes,
            &format!("paved: {} {comment}", self.app.name),
        )
        .await
        .map_err(StepError::failed)?;
        route53::wait_insync(self.r53, &id, self.poll, Duration::from_secs(300))
            .await
            .map_err(StepError::failed)?;
        crate::wait::pause(&format!("the TTL of {}", self.name), self.ttl).await;
        Ok(())
    }
}

/// Which target weights to apply, given what the records hold now.
fn weights_ahead(state: &DnsState, to: Color, target: &str, steps: &[u8]) -> Vec<u8> {
    let from = to.other();
    let has_from = state
        .records
        .iter()
        .any(|r| r.color == from && r.weight > 0);
    let current = state
        .records
        .iter()
        .find(|r| r.color == to)
        .map_or(0, |r| r.weight);
    // A first deploy has nowhere to hold traffic back: straight to 100.
    let mut plan = if has_from {
        remaining_steps(current, steps)
    } else {
        remaining_steps(current, &[100])
    };
    if plan.is_empty()
        && state.records.iter().any(|r| {
            r.color == to && route53::record_target(&r.record) != Some(route53::host(target))
        })
    {
        // Already at 100 but pointing elsewhere (a re-created load balancer): re-point it.
        plan.push(100);
    }
    plan
}

pub async fn run(args: &Args) -> Result<SwitchOutcome, StepError> {
    let loaded = spec::load(&args.app)?;
    let app = &loaded.spec;
    let dns = app.dns.clone().ok_or_else(|| {
        StepError::BadInput(format!(
            "{} has no dns: there is no traffic to move",
            app.name
        ))
    })?;
    let hold = parse_duration(&app.deploy.traffic.hold).unwrap_or_default();
    let steps = traffic_steps(args, app)?;
    let sdk = args.aws.sdk_config(&app.cluster.region).await;
    let eks_client = aws_sdk_eks::Client::new(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);

    let to = args.to;
    let from = to.other();
    let to_name = cluster_name(&app.name, to);
    let cluster = eks::describe_cluster(&eks_client, &to_name)
        .await
        .map_err(StepError::failed)?
        .ok_or_else(|| {
            StepError::Failed(format!(
                "{to_name} does not exist: nothing to send traffic to"
            ))
        })?;
    let cluster_tags = cluster.tags().cloned().unwrap_or_default();
    let target = verified_target(args, &to_name, &cluster_tags)?;
    let check_target = checks::Target {
        base_url: args
            .check_url
            .clone()
            .unwrap_or_else(|| format!("http://{target}")),
        host: Some(dns.name.clone()),
    };
    let records = Records {
        app,
        r53: &r53,
        zone: route53::zone_id(&r53, &dns)
            .await
            .map_err(StepError::failed)?,
        name: dns.name.clone(),
        poll: args.poll_interval,
        ttl: Duration::from_secs(u64::from(dns.ttl)),
    };
    let original = records.read().await?;
    check_ownership(app, &dns.name, &original)?;
    let has_from = original
        .records
        .iter()
        .any(|r| r.color == from && r.weight > 0);
    let mut state = original.clone();
    let mut applied = Vec::new();
    for step in weights_ahead(&original, to, &target, &steps) {
        let mut weights = BTreeMap::from([(to, i64::from(step))]);
        if state.records.iter().any(|r| r.color == from) {
            weights.insert(from, 100 - i64::from(step));
        }
        let changes =
            batch_for(app, &dns, &state, to, &target, &weights).map_err(StepError::failed)?;
        if !changes.is_empty() {
            tracing::info!("weights {to} {step} / {from} {}", 100 - i64::from(step));
        }
        records.change(changes, &format!("{to} {step}%")).await?;
        applied.push(step);
        state = records.read().await?;
        if let Err(why) = checks_hold(app, &check_target, hold).await {
            tracing::error!("checks failed at {to} {step}%: {why}; restoring the previous weights");
            let undo = restore_batch(&state, &original).map_err(StepError::failed)?;
            records.change(undo, "restore").await?;
            return Err(StepError::Failed(format!(
                "checks failed at {to} {step}% ({why}); the previous weights are restored"
            )));
        }
        crate::wait::pause(&format!("the hold at {to} {step}%"), hold).await;
    }
    let weights = weights_of(&state);
    if has_from && weights.get(&from).copied().unwrap_or(0) == 0 {
        mark_drained(&eks_client, &cluster_name(&app.name, from)).await?;
    }
    Ok(SwitchOutcome {
        to,
        applied,
        weights,
        url: crate::plan::app_url(app, None),
        verified: cluster_tags.get(tags::VERIFIED).cloned(),
    })
}

/// The app's checks, passing within the hold (at least 5 s) at the weights just set; the
/// failures when they do not.
async fn checks_hold(app: &KubeApp, target: &checks::Target, hold: Duration) -> Result<(), String> {
    if app.deploy.verify.checks.is_empty() {
        return Ok(());
    }
    let within = hold.max(Duration::from_secs(5));
    checks::run_until(
        target,
        &app.deploy.verify.checks,
        within,
        Duration::from_secs(1),
    )
    .await
    .map(drop)
    .map_err(|failed| {
        failed
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.detail.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Tag the cluster traffic just left with when it left, for teardown's TTL + bake guard (once:
/// a re-run keeps the first time).
async fn mark_drained(eks_client: &aws_sdk_eks::Client, name: &str) -> Result<(), StepError> {
    let Some(old) = eks::describe_cluster(eks_client, name)
        .await
        .map_err(StepError::failed)?
    else {
        return Ok(());
    };
    if old.tags().is_some_and(|t| t.contains_key(tags::DRAINED_AT)) {
        return Ok(());
    }
    let now = crate::timestamp::unix_seconds(SystemTime::now());
    eks::tag_cluster(
        eks_client,
        &old,
        HashMap::from([(tags::DRAINED_AT.to_string(), now.to_string())]),
    )
    .await
    .map_err(StepError::failed)
}

pub fn publish(outcome: &SwitchOutcome, output: Output) -> std::io::Result<()> {
    let summary: Vec<String> = outcome
        .weights
        .iter()
        .map(|(c, w)| format!("{c} {w}"))
        .collect();
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(outcome).unwrap_or_default()
        ),
        Output::Text => println!("weights: {}", summary.join(", ")),
    }
    actions::set_output("weights", &summary.join(","))?;
    actions::set_output("color", outcome.to.as_str())?;
    actions::append_summary(&format!(
        "**switch-traffic**: weights {}",
        summary.join(" / ")
    ))
}

pub fn report(o: &SwitchOutcome) -> Option<Report> {
    let weights: Vec<String> = o.weights.iter().map(|(c, w)| format!("{c} {w}%")).collect();
    let steps: Vec<String> = o.applied.iter().map(|s| format!("{s}%")).collect();
    let detail = if steps.is_empty() {
        format!("already there: {}", weights.join(", "))
    } else {
        format!("{} via {}: {}", o.to, steps.join(" → "), weights.join(", "))
    };
    Some(
        Report::new(Phase::Traffic, Outcome::Done, detail)
            .state(DeployState::Success)
            .url(o.url.clone()),
    )
}

pub fn execute(args: Args) -> u8 {
    let work = super::recorded(Phase::Traffic, &args.app, &args.ledger, run(&args), report);
    super::block_on("switch-traffic", work, |o| {
        super::finish("switch-traffic", publish(&o, args.output))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_steps_resume_from_the_current_weight() {
        assert_eq!(remaining_steps(0, &[10, 50, 100]), vec![10, 50, 100]);
        assert_eq!(remaining_steps(10, &[10, 50, 100]), vec![50, 100]);
        assert_eq!(remaining_steps(30, &[10, 50, 100]), vec![50, 100]);
        assert!(remaining_steps(100, &[10, 50, 100]).is_empty());
    }
}
