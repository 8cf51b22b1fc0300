//! `paved doctor`: what a cluster of the app needs from the account, checked before a cluster
//! creation (15 minutes or more) can fail on it: the Kubernetes version, the subnets and their
//! load-balancer tags, the cluster, node and pod roles, where the API endpoint is reachable from,
//! the hosted zone. One line per check. create-cluster runs the same checks before it creates.
//!
//! The facts are read first (`gather`), then judged without I/O (`judge`), so every verdict is
//! tested on made-up facts and the reads on the bed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::aws::AwsArgs;
use crate::aws::preflight::{
    self, INTERNAL_ELB_TAG, PUBLIC_ELB_TAG, RoleFacts, SubnetFacts, trusts,
};
use crate::aws::route53::{self, Route53Error};
use crate::spec::{self, KubeApp};
use crate::support::{self, Standing};

use super::{Output, StepError};

/// Check what the app's cluster needs from the AWS account.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct Args {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Where paved will run: `github-hosted` runners reach only public endpoints. GitHub sets
    /// RUNNER_ENVIRONMENT in every job (`github-hosted` or `self-hosted`).
    #[arg(long, env = "RUNNER_ENVIRONMENT", hide_env_values = true)]
    pub runner: Option<String>,
    /// How to print the result
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    Ok,
    /// Works, but not as well as it could (one availability zone), or could not be checked.
    Warn,
    /// A cluster created now would fail or not serve.
    Fail,
}

/// One line of the doctor's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, verdict: Verdict, detail: impl Into<String>) -> Check {
        Check {
            name,
            verdict,
            detail: detail.into(),
        }
    }
}

/// The report: the app and its checks.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub app: String,
    pub region: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failures(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .collect()
    }

    pub fn render(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = format!("paved doctor {} ({})\n", self.app, self.region);
        for c in &self.checks {
            let mark = match c.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
            };
            out.push_str(&format!("  {mark}  {:width$}  {}\n", c.name, c.detail));
        }
        let failed = self.failures().len();
        out.push_str(&match failed {
            0 => "nothing stands in the way of a cluster\n".to_string(),
            1 => "1 problem: fix it before a cluster is created\n".to_string(),
            n => format!("{n} problems: fix them before a cluster is created\n"),
        });
        out
    }
}

/// A fact that could not be read: the message says why (AccessDenied, unreachable).
type Read<T> = Result<T, String>;

/// What the account holds for the app, read before judging.
#[derive(Debug, Clone)]
pub struct Facts {
    pub today: time::Date,
    /// `github-hosted`, `self-hosted`, or unknown (outside Actions).
    pub runner: Option<String>,
    /// The identity paved runs as (STS), for the node-role check.
    pub caller: Option<String>,
    /// The spec's subnets that exist.
    pub subnets: Read<Vec<SubnetFacts>>,
    /// The subnets of their VPC tagged for load balancers (empty when no VPC was found).
    pub load_balancer_subnets: Read<Vec<SubnetFacts>>,
    /// Each role the spec names, `None` when IAM has no such role.
    pub roles: BTreeMap<String, Read<Option<RoleFacts>>>,
    /// The hosted zone of `dns`, when the spec has one: its id, or `None` when it is missing.
    pub zone: Option<Read<Option<String>>>,
}

/// The managed policies EKS Auto Mode needs on the cluster role ("Amazon EKS Auto Mode cluster
/// IAM role", auto-cluster-iam-role.html).
const CLUSTER_POLICIES: &[&str] = &[
    "AmazonEKSClusterPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
];
/// On the node role of Auto Mode's nodes ("Amazon EKS Auto Mode node IAM role",
/// auto-create-node-role.html) ...
const AUTO_NODE_POLICIES: &[&str] = &[
    "AmazonEKSWorkerNodeMinimalPolicy",
    "AmazonEC2ContainerRegistryPullOnly",
];
/// ... and what managed nodegroups' nodes need besides ("Amazon EKS node IAM role",
/// create-node-role.html).
const NODEGROUP_POLICIES: &[&str] = &["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"];

/// Who each role is assumed by, and with which actions (EKS Auto Mode's cluster role and Pod
/// Identity both tag their sessions: auto-cluster-iam-role.html, pod-id-role.html).
const EKS_TRUST: (&str, &[&str]) = ("eks.amazonaws.com", &["sts:AssumeRole", "sts:TagSession"]);
const NODE_TRUST: (&str, &[&str]) = ("ec2.amazonaws.com", &["sts:AssumeRole"]);
const POD_TRUST: (&str, &[&str]) = (
    "pods.eks.amazonaws.com",
    &["sts:AssumeRole", "sts:TagSession"],
);

/// The roles the spec names: (check name, ARN).
fn spec_roles(app: &KubeApp) -> Vec<(&'static str, Option<&String>)> {
    let mut roles = vec![
        ("cluster role", app.cluster.roles.cluster.as_ref()),
        ("node role", app.cluster.roles.nodes.as_ref()),
    ];
    if let Some(pods) = app
        .service_account
        .as_ref()
        .and_then(|s| s.iam_role.as_ref())
    {
        roles.push(("pod role", Some(pods)));
    }
    roles
}

/// The subnet tags the spec's load-balanced Services need, with a component needing each.
fn needed_tags(app: &KubeApp) -> BTreeMap<&'static str, &str> {
    let mut needed = BTreeMap::new();
    for (name, c) in &app.components {
        match c.service.as_ref() {
            Some(s) if s.public => {
                needed.entry(PUBLIC_ELB_TAG).or_insert(name.as_str());
            }
            Some(s) if s.internal => {
                needed.entry(INTERNAL_ELB_TAG).or_insert(name.as_str());
            }
            _ => {}
        }
    }
    needed
}

/// Read what the checks need. A read that fails becomes that check's warning, never an error of
/// the whole run: the doctor says as much as it can.
pub async fn gather(app: &KubeApp, sdk: &aws_config::SdkConfig, runner: Option<String>) -> Facts {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let iam = aws_sdk_iam::Client::new(sdk);
    let subnets = preflight::subnets(&ec2, &app.cluster.network.subnets)
        .await
        .map_err(|e| e.to_string());
    let vpc = subnets
        .as_ref()
        .ok()
        .and_then(|s| s.first())
        .map(|s| s.vpc_id.clone());
    let load_balancer_subnets = match (&vpc, needed_tags(app).is_empty()) {
        (Some(vpc), false) => preflight::load_balancer_subnets(&ec2, vpc)
            .await
            .map_err(|e| e.to_string()),
        _ => Ok(Vec::new()),
    };
    let mut roles = BTreeMap::new();
    for (_, arn) in spec_roles(app) {
        if let Some(arn) = arn
            && !roles.contains_key(arn)
        {
            let read = preflight::role(&iam, arn).await.map_err(|e| e.to_string());
            roles.insert(arn.clone(), read);
        }
    }
    let zone = match &app.dns {
        None => None,
        Some(dns) => Some(
            match route53::zone_id(&aws_sdk_route53::Client::new(sdk), dns).await {
                Ok(id) => Ok(Some(id)),
                Err(Route53Error::NoZone(_)) => Ok(None),
                Err(e) => Err(e.to_string()),
            },
        ),
    };
    let caller = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .ok()
        .and_then(|c| c.arn().map(str::to_string));
    Facts {
        today: support::today(),
        runner,
        caller,
        subnets,
        load_balancer_subnets,
        roles,
        zone,
    }
}

/// Judge the facts: one check per line, in the order a team would fix them.
pub fn judge(app: &KubeApp, facts: &Facts) -> Vec<Check> {
    let mut checks = vec![version(app, facts.today), subnets(app, &facts.subnets)];
    if let Some(check) = load_balancer_subnets(app, facts) {
        checks.push(check);
    }
    for (name, arn) in spec_roles(app) {
        checks.push(role(app, name, arn, facts));
    }
    checks.push(endpoint(app, facts.runner.as_deref()));
    if let (Some(dns), Some(zone)) = (&app.dns, &facts.zone) {
        checks.push(match zone {
            Ok(Some(id)) => Check::new("hosted zone", Verdict::Ok, format!("{} is {id}", dns.zone)),
            Ok(None) => Check::new(
                "hosted zone",
                Verdict::Fail,
                format!(
                    "no {} hosted zone `{}` in this account: create it, or fix dns.zone",
                    if dns.private { "private" } else { "public" },
                    dns.zone
                ),
            ),
            Err(e) => not_checked("hosted zone", e, "route53:ListHostedZonesByName"),
        });
    }
    checks
}

fn not_checked(name: &'static str, why: &str, action: &str) -> Check {
    Check::new(
        name,
        Verdict::Warn,
        format!("not checked: {why} (the role needs {action}: paved iam-policy)"),
    )
}

fn version(app: &KubeApp, today: time::Date) -> Check {
    let v = &app.cluster.version;
    let extended = app.cluster.support == crate::spec::SupportType::Extended;
    let warning = support::warning(v, extended, today);
    match support::standing(v, today) {
        Standing::Unsupported { .. } | Standing::Older { .. } => Check::new(
            "version",
            Verdict::Fail,
            warning.unwrap_or_default() + ": EKS does not create clusters of it",
        ),
        Standing::Unknown => Check::new(
            "version",
            Verdict::Warn,
            format!(
                "Kubernetes {v} is not in paved's support calendar (crates/core/src/support.rs): EKS may not offer it yet"
            ),
        ),
        Standing::Standard { ends } => match warning {
            Some(w) => Check::new("version", Verdict::Warn, w),
            None => Check::new(
                "version",
                Verdict::Ok,
                format!("Kubernetes {v}: EKS standard support until {ends}"),
            ),
        },
        Standing::Extended { .. } => {
            Check::new("version", Verdict::Warn, warning.unwrap_or_default())
        }
    }
}

fn zones(subnets: &[&SubnetFacts]) -> BTreeSet<String> {
    subnets
        .iter()
        .map(|s| s.availability_zone.clone())
        .collect()
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// EKS takes subnets of one VPC in at least two availability zones ("View Amazon EKS networking
/// requirements for VPC and subnets", network-reqs.html).
fn subnets(app: &KubeApp, read: &Read<Vec<SubnetFacts>>) -> Check {
    const NAME: &str = "subnets";
    let wanted = &app.cluster.network.subnets;
    let found = match read {
        Ok(found) => found,
        Err(e) => return not_checked(NAME, e, "ec2:DescribeSubnets"),
    };
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !found.iter().any(|f| &f.id == *w))
        .map(String::as_str)
        .collect();
    if wanted.is_empty() {
        return Check::new(
            NAME,
            Verdict::Fail,
            "cluster.network.subnets is empty: give two or more, in two availability zones",
        );
    }
    if !missing.is_empty() {
        return Check::new(
            NAME,
            Verdict::Fail,
            format!(
                "{} not found in {}: fix cluster.network.subnets",
                missing.join(", "),
                app.cluster.region
            ),
        );
    }
    let vpcs: BTreeSet<String> = found.iter().map(|s| s.vpc_id.clone()).collect();
    if vpcs.len() > 1 {
        return Check::new(
            NAME,
            Verdict::Fail,
            format!(
                "the subnets are in {} VPCs ({}): EKS takes subnets of one VPC",
                vpcs.len(),
                join(&vpcs)
            ),
        );
    }
    let azs = zones(&found.iter().collect::<Vec<_>>());
    if azs.len() < 2 {
        return Check::new(
            NAME,
            Verdict::Fail,
            format!(
                "all in {}: EKS needs subnets in at least two availability zones",
                join(&azs)
            ),
        );
    }
    Check::new(
        NAME,
        Verdict::Ok,
        format!(
            "{} subnets of {} in {}",
            found.len(),
            join(&vpcs),
            join(&azs)
        ),
    )
}

/// The NLB of each load-balanced Service goes in subnets of the VPC tagged for its scheme
/// (docs/clusters.md, "Subnets").
fn load_balancer_subnets(app: &KubeApp, facts: &Facts) -> Option<Check> {
    const NAME: &str = "load balancer subnets";
    let needed = needed_tags(app);
    if needed.is_empty() {
        return None;
    }
    let vpc = match &facts.subnets {
        Ok(found) => found.first().map(|s| s.vpc_id.clone()),
        Err(_) => None,
    };
    let Some(vpc) = vpc else {
        return Some(Check::new(
            NAME,
            Verdict::Warn,
            "not checked: the spec's subnets were not found",
        ));
    };
    let tagged = match &facts.load_balancer_subnets {
        Ok(t) => t,
        Err(e) => return Some(not_checked(NAME, e, "ec2:DescribeSubnets")),
    };
    let mut verdict = Verdict::Ok;
    let mut lines = Vec::new();
    for (tag, component) in needed {
        let with: Vec<&SubnetFacts> = tagged.iter().filter(|s| s.tagged_for(tag)).collect();
        let azs = zones(&with);
        match azs.len() {
            0 => {
                verdict = Verdict::Fail;
                lines.push(format!(
                    "no subnet of {vpc} is tagged {tag}=1, so {component}'s load balancer cannot be placed: tag the subnets it should use"
                ));
            }
            1 => {
                verdict = verdict.max(Verdict::Warn);
                lines.push(format!(
                    "{tag} only in {}: {component}'s load balancer would serve from one availability zone",
                    join(&azs)
                ));
            }
            _ => lines.push(format!("{tag} in {}", join(&azs))),
        }
    }
    Some(Check::new(NAME, verdict, lines.join("; ")))
}

fn role(app: &KubeApp, name: &'static str, arn: Option<&String>, facts: &Facts) -> Check {
    let field = match name {
        "cluster role" => "cluster.roles.cluster",
        "node role" => "cluster.roles.nodes",
        _ => "serviceAccount.iamRole",
    };
    let Some(arn) = arn else {
        return Check::new(
            name,
            Verdict::Fail,
            format!("{field} is not set: EKS needs it (docs/clusters.md)"),
        );
    };
    let facts_of = match facts.roles.get(arn) {
        Some(Ok(Some(r))) => r,
        Some(Ok(None)) | None => {
            return Check::new(
                name,
                Verdict::Fail,
                format!("{arn} does not exist: create it or fix {field}"),
            );
        }
        Some(Err(e)) => {
            return not_checked(name, e, "iam:GetRole and iam:ListAttachedRolePolicies");
        }
    };
    let (service, actions, policies): (&str, &[&str], Vec<&str>) = match name {
        "cluster role" => (EKS_TRUST.0, EKS_TRUST.1, CLUSTER_POLICIES.to_vec()),
        "node role" => {
            let mut p = AUTO_NODE_POLICIES.to_vec();
            if !app.cluster.nodegroups.is_empty() {
                p.extend(NODEGROUP_POLICIES);
            }
            (NODE_TRUST.0, NODE_TRUST.1, p)
        }
        _ => (POD_TRUST.0, POD_TRUST.1, Vec::new()),
    };
    let mut problems = Vec::new();
    if !trusts(&facts_of.trust, service, actions) {
        problems.push(format!(
            "its trust policy does not let {service} {}",
            actions.join(" and ")
        ));
    }
    let missing: Vec<&str> = policies
        .into_iter()
        .filter(|p| !facts_of.attached.iter().any(|a| a == p))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("attach {}", missing.join(", ")));
    }
    // Auto Mode refuses a node role that is also the cluster creator's
    // (auto-create-node-role.html).
    if name == "node role"
        && let (Some(caller), Some(role_name)) = (&facts.caller, preflight::role_name(arn))
        && caller.contains(&format!(":assumed-role/{role_name}/"))
    {
        problems.push(
            "paved runs as this role: the node role must not be the one that creates clusters"
                .into(),
        );
    }
    if problems.is_empty() {
        Check::new(
            name,
            Verdict::Ok,
            format!(
                "{} trusts {service}{}",
                preflight::role_name(arn).unwrap_or(arn),
                if facts_of.attached.is_empty() {
                    String::new()
                } else {
                    format!("; {}", facts_of.attached.join(", "))
                }
            ),
        )
    } else {
        Check::new(
            name,
            Verdict::Fail,
            format!("{arn}: {}", problems.join("; ")),
        )
    }
}

/// Every step after create-cluster talks to the API server: from a GitHub-hosted runner only a
/// public endpoint is reachable.
fn endpoint(app: &KubeApp, runner: Option<&str>) -> Check {
    const NAME: &str = "API endpoint";
    let net = &app.cluster.network;
    let hosted = runner == Some("github-hosted");
    if !net.public_endpoint {
        let detail =
            "private only (network.publicEndpoint: false): reachable from inside the VPC alone";
        return if hosted {
            Check::new(
                NAME,
                Verdict::Fail,
                format!(
                    "{detail}; a GitHub-hosted runner cannot reach it: use a self-hosted runner in the VPC, a tunnel (--kube-endpoint), or a public endpoint"
                ),
            )
        } else {
            Check::new(
                NAME,
                Verdict::Warn,
                format!("{detail}: paved must run there (a self-hosted runner in the VPC)"),
            )
        };
    }
    let open = net.public_access_cidrs.is_empty()
        || net.public_access_cidrs.iter().any(|c| c == "0.0.0.0/0");
    if !open && hosted {
        return Check::new(
            NAME,
            Verdict::Warn,
            format!(
                "public, but only from {}: GitHub-hosted runners' addresses change and are unlikely to be among them",
                net.public_access_cidrs.join(", ")
            ),
        );
    }
    Check::new(
        NAME,
        Verdict::Ok,
        if open {
            "public: reachable from any runner".to_string()
        } else {
            format!("public from {}", net.public_access_cidrs.join(", "))
        },
    )
}

/// Gather and judge: the report for the app.
pub async fn examine(app: &KubeApp, sdk: &aws_config::SdkConfig, runner: Option<String>) -> Report {
    let facts = gather(app, sdk, runner).await;
    Report {
        app: app.name.clone(),
        region: app.cluster.region.clone(),
        checks: judge(app, &facts),
    }
}

pub async fn run(args: &Args) -> Result<Report, StepError> {
    let loaded = spec::load(&args.app)?;
    let app = &loaded.spec;
    let sdk = args.aws.sdk_config(&app.cluster.region).await;
    Ok(examine(app, &sdk, args.runner.clone()).await)
}

pub fn execute(args: Args) -> u8 {
    super::block_on("doctor", run(&args), |report| {
        match args.output {
            Output::Text => print!("{}", report.render()),
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            ),
        }
        if report.failures().is_empty() {
            crate::exit::OK
        } else {
            crate::exit::FAILED
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hello() -> KubeApp {
        let mut app = spec::load(concat!(env!("CARGO_MANIFEST_DIR"), "/apps/hello"))
            .expect("hello's spec")
            .spec;
        app.service_account = Some(crate::spec::ServiceAccount {
            iam_role: Some("arn:aws:iam::123456789012:role/hello-pods".into()),
        });
        app
    }

    fn subnet(id: &str, zone: &str, tags: &[&str]) -> SubnetFacts {
        SubnetFacts {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: zone.into(),
            tags: tags
                .iter()
                .map(|t| (t.to_string(), "1".to_string()))
                .collect(),
        }
    }

    fn role(service: &str, actions: &[&str], attached: &[&str]) -> Read<Option<RoleFacts>> {
        Ok(Some(RoleFacts {
            arn: String::new(),
            trust: json!({"Statement": [{
                "Effect": "Allow", "Principal": {"Service": service}, "Action": actions
            }]}),
            attached: attached.iter().map(|a| a.to_string()).collect(),
        }))
    }

    /// What a platform team that followed docs/clusters.md has.
    fn ready(app: &KubeApp) -> Facts {
        let [a, b] = [0, 1].map(|i| app.cluster.network.subnets[i].clone());
        let mut node_policies = AUTO_NODE_POLICIES.to_vec();
        node_policies.extend(NODEGROUP_POLICIES);
        Facts {
            today: time::macros::date!(2026 - 12 - 07),
            runner: Some("github-hosted".into()),
            caller: Some("arn:aws:sts::123456789012:assumed-role/paved-deploy/run-1".into()),
            subnets: Ok(vec![
                subnet(&a, "us-east-1a", &[PUBLIC_ELB_TAG]),
                subnet(&b, "us-east-1b", &[PUBLIC_ELB_TAG]),
            ]),
            load_balancer_subnets: Ok(vec![
                subnet(&a, "us-east-1a", &[PUBLIC_ELB_TAG]),
                subnet(&b, "us-east-1b", &[PUBLIC_ELB_TAG]),
            ]),
            roles: BTreeMap::from([
                (
                    "arn:aws:iam::123456789012:role/paved-cluster".to_string(),
                    role(EKS_TRUST.0, EKS_TRUST.1, CLUSTER_POLICIES),
                ),
                (
                    "arn:aws:iam::123456789012:role/paved-nodes".to_string(),
                    role(NODE_TRUST.0, NODE_TRUST.1, &node_policies),
                ),
                (
                    "arn:aws:iam::123456789012:role/hello-pods".to_string(),
                    role(POD_TRUST.0, POD_TRUST.1, &[]),
                ),
            ]),
            zone: Some(Ok(Some("Z123".into()))),
        }
    }

    fn verdicts(checks: &[Check]) -> Vec<(&'static str, Verdict)> {
        checks.iter().map(|c| (c.name, c.verdict)).collect()
    }

    fn check<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks.iter().find(|c| c.name == name).expect(name)
    }

    #[test]
    fn a_ready_account_passes_every_check() {
        let app = hello();
        let checks = judge(&app, &ready(&app));
        assert_eq!(
            verdicts(&checks),
            [
                ("version", Verdict::Ok),
                ("subnets", Verdict::Ok),
                ("load balancer subnets", Verdict::Ok),
                ("cluster role", Verdict::Ok),
                ("node role", Verdict::Ok),
                ("pod role", Verdict::Ok),
                ("API endpoint", Verdict::Ok),
                ("hosted zone", Verdict::Ok),
            ]
        );
    }

    #[test]
    fn subnets_must_exist_share_a_vpc_and_span_two_zones() {
        let app = hello();
        let mut facts = ready(&app);
        facts.subnets = Ok(vec![subnet(
            &app.cluster.network.subnets[0],
            "us-east-1a",
            &[],
        )]);
        let c = judge(&app, &facts);
        let s = check(&c, "subnets");
        assert_eq!(s.verdict, Verdict::Fail);
        assert!(
            s.detail.contains(&app.cluster.network.subnets[1]),
            "{}",
            s.detail
        );

        let [a, b] = [0, 1].map(|i| app.cluster.network.subnets[i].clone());
        facts.subnets = Ok(vec![
            subnet(&a, "us-east-1a", &[]),
            subnet(&b, "us-east-1a", &[]),
        ]);
        let c = judge(&app, &facts);
        assert!(
            check(&c, "subnets")
                .detail
                .contains("two availability zones")
        );

        let mut other = subnet(&b, "us-east-1b", &[]);
        other.vpc_id = "vpc-2".into();
        facts.subnets = Ok(vec![subnet(&a, "us-east-1a", &[]), other]);
        let c = judge(&app, &facts);
        assert!(check(&c, "subnets").detail.contains("one VPC"));

        facts.subnets = Err("AccessDenied".into());
        let c = judge(&app, &facts);
        assert_eq!(check(&c, "subnets").verdict, Verdict::Warn);
        assert!(check(&c, "subnets").detail.contains("ec2:DescribeSubnets"));
    }

    #[test]
    fn load_balancers_need_subnets_tagged_for_their_scheme() {
        let mut app = hello();
        let mut facts = ready(&app);
        facts.load_balancer_subnets = Ok(Vec::new());
        let c = judge(&app, &facts);
        let lb = check(&c, "load balancer subnets");
        assert_eq!(lb.verdict, Verdict::Fail);
        assert!(lb.detail.contains(PUBLIC_ELB_TAG) && lb.detail.contains("web"));

        facts.load_balancer_subnets = Ok(vec![subnet("subnet-x", "us-east-1a", &[PUBLIC_ELB_TAG])]);
        let c = judge(&app, &facts);
        assert_eq!(check(&c, "load balancer subnets").verdict, Verdict::Warn);

        // An internal Service looks for the other tag.
        let web = app.components.get_mut("web").expect("web");
        let service = web.service.as_mut().expect("service");
        (service.public, service.internal) = (false, true);
        let c = judge(&app, &ready(&app));
        let lb = check(&c, "load balancer subnets");
        assert_eq!(lb.verdict, Verdict::Fail);
        assert!(lb.detail.contains(INTERNAL_ELB_TAG));

        // Without load-balanced Services the check is not shown.
        app.components.get_mut("web").expect("web").service = None;
        assert!(
            !judge(&app, &ready(&app))
                .iter()
                .any(|c| c.name == "load balancer subnets")
        );
    }

    #[test]
    fn roles_need_their_trust_and_policies() {
        let app = hello();
        let mut facts = ready(&app);
        let cluster = "arn:aws:iam::123456789012:role/paved-cluster".to_string();
        facts.roles.insert(
            cluster.clone(),
            role(
                EKS_TRUST.0,
                &["sts:AssumeRole"],
                &["AmazonEKSClusterPolicy"],
            ),
        );
        let c = judge(&app, &facts);
        let r = check(&c, "cluster role");
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.detail.contains("sts:TagSession"), "{}", r.detail);
        assert!(r.detail.contains("AmazonEKSComputePolicy"), "{}", r.detail);

        facts.roles.insert(cluster, Ok(None));
        let c = judge(&app, &facts);
        assert!(check(&c, "cluster role").detail.contains("does not exist"));

        // Auto Mode nodes alone need fewer policies than managed nodegroups.
        let mut auto_only = app.clone();
        auto_only.cluster.nodegroups.clear();
        let mut facts = ready(&auto_only);
        facts.roles.insert(
            "arn:aws:iam::123456789012:role/paved-nodes".into(),
            role(NODE_TRUST.0, NODE_TRUST.1, AUTO_NODE_POLICIES),
        );
        assert_eq!(
            check(&judge(&auto_only, &facts), "node role").verdict,
            Verdict::Ok
        );
        assert_eq!(
            check(&judge(&app, &facts), "node role").verdict,
            Verdict::Fail
        );

        // The pods' role trusts Pod Identity, not IRSA's web identity.
        let mut facts = ready(&app);
        facts.roles.insert(
            "arn:aws:iam::123456789012:role/hello-pods".into(),
            role("eks.amazonaws.com", POD_TRUST.1, &[]),
        );
        assert!(
            check(&judge(&app, &facts), "pod role")
                .detail
                .contains("pods.eks.amazonaws.com")
        );
    }

    #[test]
    fn the_node_role_is_not_the_role_paved_runs_as() {
        let app = hello();
        let mut facts = ready(&app);
        facts.caller = Some("arn:aws:sts::123456789012:assumed-role/paved-nodes/run-1".into());
        let c = judge(&app, &facts);
        assert_eq!(check(&c, "node role").verdict, Verdict::Fail);
        assert!(check(&c, "node role").detail.contains("must not be"));
    }

    #[test]
    fn a_private_endpoint_cannot_be_reached_from_a_github_hosted_runner() {
        let mut app = hello();
        app.cluster.network.public_endpoint = false;
        let facts = ready(&app);
        let c = judge(&app, &facts);
        assert_eq!(check(&c, "API endpoint").verdict, Verdict::Fail);
        let mut self_hosted = facts.clone();
        self_hosted.runner = Some("self-hosted".into());
        assert_eq!(
            check(&judge(&app, &self_hosted), "API endpoint").verdict,
            Verdict::Warn
        );

        app.cluster.network.public_endpoint = true;
        app.cluster.network.public_access_cidrs = vec!["203.0.113.0/24".into()];
        assert_eq!(
            check(&judge(&app, &facts), "API endpoint").verdict,
            Verdict::Warn
        );
        assert_eq!(
            check(&judge(&app, &self_hosted), "API endpoint").verdict,
            Verdict::Ok
        );
    }

    #[test]
    fn versions_out_of_support_fail_and_near_the_end_warn() {
        let mut app = hello();
        let facts = ready(&app);
        app.cluster.version = "1.28".into();
        assert_eq!(
            check(&judge(&app, &facts), "version").verdict,
            Verdict::Fail
        );
        app.cluster.version = "1.35".into();
        let mut late = facts.clone();
        late.today = time::macros::date!(2027 - 03 - 01);
        let c = judge(&app, &late);
        assert_eq!(check(&c, "version").verdict, Verdict::Warn);
        assert!(check(&c, "version").detail.contains("2027-03-27"));
    }

    #[test]
    fn a_missing_zone_fails_and_the_report_counts_problems() {
        let app = hello();
        let mut facts = ready(&app);
        facts.zone = Some(Ok(None));
        let report = Report {
            app: app.name.clone(),
            region: app.cluster.region.clone(),
            checks: judge(&app, &facts),
        };
        assert_eq!(check(&report.checks, "hosted zone").verdict, Verdict::Fail);
        let text = report.render();
        assert!(text.contains("FAIL  hosted zone"), "{text}");
        assert!(
            text.ends_with("1 problem: fix it before a cluster is created\n"),
            "{text}"
        );
    }
}
