//! `paved iam-policy`: the IAM actions each step calls, as a policy document for the role the
//! workflow assumes by OIDC. Kept next to the steps so it changes when they do; the list is the
//! API calls in src/aws/, one statement per step so a team can split roles per job.

use serde_json::{Value, json};

/// The steps that call AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyStep {
    Plan,
    BuildImage,
    CreateCluster,
    ApplySpecs,
    Verify,
    SwitchTraffic,
    Teardown,
    /// What `paved deploy` calls beyond the steps: its lock in the app's ECR repository.
    Deploy,
}

const READ_STATE: &[&str] = &[
    "eks:ListClusters",
    "eks:DescribeCluster",
    "eks:ListNodegroups",
    "eks:DescribeNodegroup",
    "route53:ListHostedZones",
    "route53:ListHostedZonesByName",
    "route53:ListResourceRecordSets",
];

/// Keeping `cluster.admins` in step (create-cluster and apply-specs).
const ACCESS_ENTRIES: &[&str] = &[
    "eks:ListAccessEntries",
    "eks:DescribeAccessEntry",
    "eks:CreateAccessEntry",
    "eks:DeleteAccessEntry",
    "eks:AssociateAccessPolicy",
];

/// Keeping the service account's Pod Identity association in step (apply-specs).
const POD_IDENTITY: &[&str] = &[
    "eks:ListPodIdentityAssociations",
    "eks:DescribePodIdentityAssociation",
    "eks:CreatePodIdentityAssociation",
    "eks:UpdatePodIdentityAssociation",
    "eks:DeletePodIdentityAssociation",
];

/// ECR calls that put a small blob and a manifest (the native builder, the deploy lock).
const ECR_PUSH: &[&str] = &[
    "ecr:DescribeRepositories",
    "ecr:CreateRepository",
    "ecr:TagResource",
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
];

impl PolicyStep {
    pub fn all() -> [PolicyStep; 8] {
        [
            PolicyStep::Plan,
            PolicyStep::BuildImage,
            PolicyStep::CreateCluster,
            PolicyStep::ApplySpecs,
            PolicyStep::Verify,
            PolicyStep::SwitchTraffic,
            PolicyStep::Teardown,
            PolicyStep::Deploy,
        ]
    }

    fn sid(self) -> &'static str {
        match self {
            PolicyStep::Plan => "PavedPlan",
            PolicyStep::BuildImage => "PavedBuildImage",
            PolicyStep::CreateCluster => "PavedCreateCluster",
            PolicyStep::ApplySpecs => "PavedApplySpecs",
            PolicyStep::Verify => "PavedVerify",
            PolicyStep::SwitchTraffic => "PavedSwitchTraffic",
            PolicyStep::Teardown => "PavedTeardown",
            PolicyStep::Deploy => "PavedDeployLock",
        }
    }

    /// The actions the step calls (`sts:GetCallerIdentity` is presigned for EKS tokens and needs
    /// no permission: the Service Authorization Reference's STS page).
    pub fn actions(self) -> Vec<&'static str> {
        let own: Vec<&str> = match self {
            PolicyStep::Plan => vec!["ecr:DescribeImages", "ecr:DescribeRepositories"],
            PolicyStep::BuildImage => ECR_PUSH
                .iter()
                .copied()
                .chain(["ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer"])
                .collect(),
            PolicyStep::CreateCluster => vec![
                "eks:CreateCluster",
                "eks:CreateNodegroup",
                "eks:TagResource",
                "eks:ListAddons",
                "eks:DescribeAddonVersions",
                "eks:CreateAddon",
            ]
            .into_iter()
            .chain(ACCESS_ENTRIES.iter().copied())
            .chain([
                "iam:PassRole",
                // EKS makes its service-linked roles on an account's first cluster and nodegroup.
                "iam:CreateServiceLinkedRole",
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:CreateOrUpdateTags",
            ])
            .collect(),
            PolicyStep::ApplySpecs => ["eks:UntagResource", "eks:TagResource", "iam:PassRole"]
                .into_iter()
                .chain(ACCESS_ENTRIES.iter().copied())
                .chain(POD_IDENTITY.iter().copied())
                .collect(),
            PolicyStep::Verify => vec!["eks:TagResource"],
            PolicyStep::SwitchTraffic => vec![
                "route53:ChangeResourceRecordSets",
                "route53:GetChange",
                "eks:TagResource",
            ],
            PolicyStep::Teardown => vec![
                "eks:DeleteNodegroup",
                "eks:DeleteCluster",
                "route53:ChangeResourceRecordSets",
                "route53:GetChange",
            ],
            PolicyStep::Deploy => ECR_PUSH
                .iter()
                .copied()
                .chain(["ecr:BatchDeleteImage"])
                .collect(),
        };
        let mut actions: Vec<&str> = READ_STATE.iter().copied().chain(own).collect();
        actions.sort_unstable();
        actions.dedup();
        actions
    }
}

/// What an action's permission is scoped to, from the Service Authorization Reference
/// (https://docs.aws.amazon.com/service-authorization/latest/reference/, the EKS, ECR, Route 53,
/// IAM and EC2 Auto Scaling pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum On {
    /// No resource type: `*` (eks:ListClusters, ecr:GetAuthorizationToken,
    /// route53:ListHostedZones*, autoscaling:DescribeAutoScalingGroups).
    Any,
    /// eks:CreateCluster has no resource type either; with an app its request tag is required.
    NewCluster,
    Cluster,
    /// The cluster and what lives in it: access entries, add-ons, Pod Identity associations.
    ClusterParts,
    Nodegroup,
    Repository,
    Zone,
    Change,
    /// The Auto Scaling groups EKS makes for managed nodegroups: their names are EKS's, so the
    /// tagging call is not narrowed further.
    AutoScalingGroup,
    PassRole,
    ServiceLinkedRole,
}

fn scope_of(action: &str) -> On {
    match action {
        "eks:CreateCluster" => On::NewCluster,
        "eks:DescribeNodegroup" | "eks:DeleteNodegroup" => On::Nodegroup,
        // Called on the cluster, acting on its access entries, add-ons and associations.
        a if ACCESS_ENTRIES.contains(&a)
            || POD_IDENTITY.contains(&a)
            || a == "eks:CreateAddon"
            || a == "eks:ListAddons" =>
        {
            On::ClusterParts
        }
        "eks:DescribeAddonVersions" => On::Any,
        "eks:ListClusters"
        | "ecr:GetAuthorizationToken"
        | "route53:ListHostedZones"
        | "route53:ListHostedZonesByName"
        | "autoscaling:DescribeAutoScalingGroups" => On::Any,
        "route53:GetChange" => On::Change,
        "autoscaling:CreateOrUpdateTags" => On::AutoScalingGroup,
        "iam:PassRole" => On::PassRole,
        "iam:CreateServiceLinkedRole" => On::ServiceLinkedRole,
        a if a.starts_with("eks:") => On::Cluster,
        a if a.starts_with("ecr:") => On::Repository,
        a if a.starts_with("route53:") => On::Zone,
        _ => On::Any,
    }
}

/// The names a policy's resources carry: one app's, or any.
#[derive(Debug, Clone)]
pub struct Scope {
    partition: String,
    account: String,
    region: String,
    app: Option<String>,
    clusters: Vec<String>,
    repositories: Vec<String>,
    zone_id: Option<String>,
    roles: Vec<String>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            partition: "aws".into(),
            account: "*".into(),
            region: "*".into(),
            app: None,
            clusters: vec!["*".into()],
            repositories: vec!["*".into()],
            zone_id: None,
            roles: Vec::new(),
        }
    }
}

impl Scope {
    /// One app's names: its clusters (both colors), its repository and build cache, its hosted
    /// zone when the spec names its id, the account and partition of its roles.
    pub fn of(app: &crate::spec::KubeApp) -> Scope {
        let pods_role = app
            .service_account
            .as_ref()
            .and_then(|s| s.iam_role.as_ref());
        let roles: Vec<String> = [
            app.cluster.roles.cluster.as_ref(),
            app.cluster.roles.nodes.as_ref(),
            pods_role,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        // arn:<partition>:iam::<account>:role/<name>
        let parts: Vec<&str> = roles.first().map_or(Vec::new(), |r| r.split(':').collect());
        let repository = crate::plan::repository(app);
        let mut repositories = vec![repository.clone()];
        if app.image.docker.is_some() {
            repositories.push(crate::build::docker::cache_repository(&repository));
        }
        Scope {
            partition: parts.get(1).map_or("aws", |p| p).to_string(),
            account: parts
                .get(4)
                .filter(|a| !a.is_empty())
                .map_or("*", |a| a)
                .to_string(),
            region: app.cluster.region.clone(),
            app: Some(app.name.clone()),
            clusters: [crate::plan::Color::Blue, crate::plan::Color::Green]
                .into_iter()
                .map(|c| crate::plan::cluster_name(&app.name, c))
                .collect(),
            repositories,
            zone_id: app.dns.as_ref().and_then(|d| d.zone_id.clone()),
            roles,
        }
    }

    fn resources(&self, on: On) -> Value {
        let (p, a, r) = (&self.partition, &self.account, &self.region);
        let list: Vec<String> = match on {
            On::Any | On::NewCluster => vec!["*".into()],
            On::Cluster => self
                .clusters
                .iter()
                .map(|c| format!("arn:{p}:eks:{r}:{a}:cluster/{c}"))
                .collect(),
            On::ClusterParts => self
                .clusters
                .iter()
                .flat_map(|c| {
                    [
                        "cluster/",
                        "access-entry/",
                        "addon/",
                        "podidentityassociation/",
                    ]
                    .into_iter()
                    .map(move |kind| {
                        let rest = if kind == "cluster/" { "" } else { "/*" };
                        format!("arn:{p}:eks:{r}:{a}:{kind}{c}{rest}")
                    })
                })
                .collect(),
            On::Nodegroup => self
                .clusters
                .iter()
                .map(|c| format!("arn:{p}:eks:{r}:{a}:nodegroup/{c}/*/*"))
                .collect(),
            On::Repository => self
                .repositories
                .iter()
                .map(|n| format!("arn:{p}:ecr:{r}:{a}:repository/{n}"))
                .collect(),
            On::Zone => vec![format!(
                "arn:{p}:route53:::hostedzone/{}",
                self.zone_id.as_deref().unwrap_or("*")
            )],
            On::Change => vec![format!("arn:{p}:route53:::change/*")],
            On::AutoScalingGroup => vec![format!("arn:{p}:autoscaling:{r}:{a}:autoScalingGroup:*")],
            On::PassRole if self.roles.is_empty() => vec![format!("arn:{p}:iam::{a}:role/*")],
            On::PassRole => self.roles.clone(),
            On::ServiceLinkedRole => vec![
                format!(
                    "arn:{p}:iam::{a}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"
                ),
                format!(
                    "arn:{p}:iam::{a}:role/aws-service-role/eks-nodegroup.amazonaws.com/AWSServiceRoleForAmazonEKSNodegroup"
                ),
            ],
        };
        if list.len() == 1 {
            json!(list[0])
        } else {
            json!(list)
        }
    }

    fn condition(&self, on: On) -> Option<Value> {
        match on {
            On::NewCluster => self.app.as_ref().map(|app| {
                json!({ "StringEquals": { format!("aws:RequestTag/{}", crate::aws::eks::tags::APP): app } })
            }),
            On::PassRole => Some(json!({
                "StringEquals": { "iam:PassedToService": ["eks.amazonaws.com", "ec2.amazonaws.com", "pods.eks.amazonaws.com"] }
            })),
            On::ServiceLinkedRole => Some(json!({
                "StringEquals": { "iam:AWSServiceName": ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com"] }
            })),
            _ => None,
        }
    }
}

/// The policy document for `steps`: per step, a statement for each kind of resource its
/// actions act on, named as narrowly as `scope` allows.
pub fn document(steps: &[PolicyStep], scope: &Scope) -> Value {
    let mut statements = Vec::new();
    for step in steps {
        let mut by_scope: std::collections::BTreeMap<On, Vec<&str>> = Default::default();
        for action in step.actions() {
            by_scope.entry(scope_of(action)).or_default().push(action);
        }
        for (on, actions) in by_scope {
            let mut statement = json!({
                "Sid": format!("{}{}", step.sid(), sid_suffix(on)),
                "Effect": "Allow",
                "Action": actions,
                "Resource": scope.resources(on),
            });
            if let Some(condition) = scope.condition(on) {
                statement["Condition"] = condition;
            }
            statements.push(statement);
        }
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

fn sid_suffix(on: On) -> &'static str {
    match on {
        On::Any => "Unscoped",
        On::NewCluster => "NewCluster",
        On::Cluster => "Clusters",
        On::ClusterParts => "ClusterAccessAndAddons",
        On::Nodegroup => "Nodegroups",
        On::Repository => "Repositories",
        On::Zone => "Zone",
        On::Change => "Changes",
        On::AutoScalingGroup => "NodeGroups",
        On::PassRole => "PassRoles",
        On::ServiceLinkedRole => "ServiceLinkedRoles",
    }
}

/// Print the policy for a role.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Only these steps [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub step: Vec<PolicyStep>,
    /// Name the app's cluster and node roles in iam:PassRole instead of any role
    #[arg(long)]
    pub app: Option<String>,
}

pub fn execute(args: Args) -> u8 {
    let steps = if args.step.is_empty() {
        PolicyStep::all().to_vec()
    } else {
        args.step.clone()
    };
    let scope = match &args.app {
        Some(app) => match crate::spec::load(app) {
            Ok(l) => Scope::of(&l.spec),
            Err(e) => {
                crate::steps::report_spec_error(&e);
                return crate::exit::BAD_INPUT;
            }
        },
        None => Scope::default(),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&document(&steps, &scope)).unwrap_or_default()
    );
    crate::exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_reads_the_state_and_only_cluster_and_pod_roles_are_passed() {
        for s in PolicyStep::all() {
            assert!(s.actions().contains(&"eks:ListClusters"), "{s:?}");
        }
        let text = document(&[PolicyStep::Teardown], &Scope::default()).to_string();
        assert!(text.contains("eks:DeleteCluster") && !text.contains("iam:PassRole"));
        let text = document(&[PolicyStep::CreateCluster], &Scope::default()).to_string();
        assert!(text.contains("iam:PassRole") && text.contains("iam:CreateServiceLinkedRole"));
        // apply-specs hands the pods' role to EKS Pod Identity.
        let text = document(&[PolicyStep::ApplySpecs], &Scope::default()).to_string();
        assert!(text.contains("iam:PassRole") && text.contains("pods.eks.amazonaws.com"));
    }

    #[test]
    fn access_entries_add_ons_and_pod_identity_are_scoped_to_the_apps_clusters() {
        let loaded = crate::spec::load(concat!(env!("CARGO_MANIFEST_DIR"), "/apps/billing"))
            .expect("billing");
        let scope = Scope::of(&loaded.spec);
        let doc = document(&PolicyStep::all(), &scope);
        let parts = statement(&doc, "PavedApplySpecsClusterAccessAndAddons");
        let actions = parts["Action"].to_string();
        assert!(
            actions.contains("eks:CreatePodIdentityAssociation")
                && actions.contains("eks:AssociateAccessPolicy"),
            "{actions}"
        );
        let resources = parts["Resource"].to_string();
        let region = &loaded.spec.cluster.region;
        for kind in [
            "cluster/billing-green\"",
            "access-entry/billing-blue/*",
            "podidentityassociation/billing-green/*",
        ] {
            assert!(
                resources.contains(&format!(":eks:{region}:123456789012:{kind}")),
                "{kind} in {resources}"
            );
        }
        let addons =
            statement(&doc, "PavedCreateClusterClusterAccessAndAddons")["Action"].to_string();
        assert!(addons.contains("eks:CreateAddon") && !addons.contains("DescribeAddonVersions"));
        let roles = statement(&doc, "PavedApplySpecsPassRoles")["Resource"].to_string();
        assert!(roles.contains("role/billing-app"), "{roles}");
    }

    fn statement<'a>(doc: &'a Value, sid: &str) -> &'a Value {
        doc["Statement"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["Sid"] == sid))
            .unwrap_or_else(|| panic!("no statement {sid} in {doc:#}"))
    }

    #[test]
    fn an_apps_policy_names_its_clusters_repository_roles_and_zone() {
        let loaded = crate::spec::load(concat!(env!("CARGO_MANIFEST_DIR"), "/apps/catalog"))
            .expect("catalog");
        let mut app = loaded.spec;
        app.dns.as_mut().expect("dns").zone_id = Some("Z0123456789".into());
        app.cluster.roles.cluster = Some("arn:aws:iam::123456789012:role/paved-cluster".into());
        let scope = Scope::of(&app);
        let doc = document(&PolicyStep::all(), &scope);
        let clusters = &statement(&doc, "PavedTeardownClusters")["Resource"];
        let region = &app.cluster.region;
        assert_eq!(
            clusters,
            &json!([
                format!("arn:aws:eks:{region}:123456789012:cluster/catalog-blue"),
                format!("arn:aws:eks:{region}:123456789012:cluster/catalog-green")
            ])
        );
        let repos = statement(&doc, "PavedBuildImageRepositories")["Resource"].to_string();
        assert!(
            repos.contains(":repository/catalog\"")
                && repos.contains(":repository/catalog/buildcache"),
            "{repos}"
        );
        let zone = &statement(&doc, "PavedSwitchTrafficZone")["Resource"];
        assert_eq!(zone, "arn:aws:route53:::hostedzone/Z0123456789");
        let new = statement(&doc, "PavedCreateClusterNewCluster");
        assert_eq!(new["Resource"], "*");
        assert_eq!(
            new["Condition"]["StringEquals"]["aws:RequestTag/paved.dev/app"],
            "catalog"
        );
        let slr = statement(&doc, "PavedCreateClusterServiceLinkedRoles");
        assert!(
            slr["Resource"]
                .to_string()
                .contains("AWSServiceRoleForAmazonEKSNodegroup")
        );
        // Only the calls AWS cannot scope are left on "*".
        for s in doc["Statement"].as_array().expect("statements") {
            if s["Resource"] == "*" {
                for a in s["Action"].as_array().expect("actions") {
                    assert!(
                        [On::Any, On::NewCluster]
                            .contains(&scope_of(a.as_str().unwrap_or_default())),
                        "{a} is left unscoped"
                    );
                }
            }
        }
    }
}
