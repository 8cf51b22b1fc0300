//! `paved iam-policy`: the IAM actions each step calls, as a policy document for the role the
//! workflow assumes by OIDC. Kept next to the steps so it changes when they do; the list is the
//! API calls in src/aws/, one statement per step so a team can split roles per job.

use serde_json::{Value, json};

use crate::aws::route53;

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
    /// `paved doctor` (create-cluster runs it too): the subnets and the roles a cluster needs.
    Doctor,
    /// `paved janitor --delete`: teardown's calls, and reading and deleting expired locks.
    Janitor,
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

/// `paved doctor`'s reads of the account (create-cluster runs them before it creates).
const PREFLIGHT: &[&str] = &[
    "ec2:DescribeSubnets",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
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
    pub fn all() -> [PolicyStep; 10] {
        [
            PolicyStep::Plan,
            PolicyStep::BuildImage,
            PolicyStep::CreateCluster,
            PolicyStep::ApplySpecs,
            PolicyStep::Verify,
            PolicyStep::SwitchTraffic,
            PolicyStep::Teardown,
            PolicyStep::Deploy,
            PolicyStep::Doctor,
            PolicyStep::Janitor,
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
            PolicyStep::Doctor => "PavedDoctor",
            PolicyStep::Janitor => "PavedJanitor",
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
            .chain(PREFLIGHT.iter().copied())
            .chain([
                "iam:PassRole",
                // EKS makes its service-linked roles on an account's first cluster and nodegroup.
                "iam:CreateServiceLinkedRole",
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:CreateOrUpdateTags",
            ])
            .collect(),
            PolicyStep::ApplySpecs => [
                "eks:UntagResource",
                "eks:TagResource",
                "eks:UpdateNodegroupConfig",
                "iam:PassRole",
            ]
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
            PolicyStep::Doctor => PREFLIGHT.to_vec(),
            PolicyStep::Janitor => PolicyStep::Teardown
                .actions()
                .into_iter()
                .chain([
                    "ecr:DescribeImages",
                    "ecr:DescribeRepositories",
                    "ecr:BatchGetImage",
                    "ecr:BatchDeleteImage",
                ])
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
    /// The app's records in its zone (and their ownership record).
    Records,
    Change,
    /// The Auto Scaling groups EKS makes for managed nodegroups, named `eks-<nodegroup>-<id>`
    /// (the resource of the AWSServiceRoleForAmazonEKSNodegroup role's policy).
    AutoScalingGroup,
    /// The roles the spec names, read by the doctor.
    Roles,
    /// The cluster and node roles, handed to EKS by create-cluster.
    PassClusterRoles,
    /// The pods' role, handed to EKS Pod Identity by apply-specs.
    PassPodRole,
    ServiceLinkedRole,
}

fn scope_of(step: PolicyStep, action: &str) -> On {
    match action {
        // Each step passes only its own roles: the cluster's and nodes' to EKS, the pods' to
        // Pod Identity (the EKS user guide: the principal creating an association needs
        // iam:PassRole).
        "iam:PassRole" if step == PolicyStep::ApplySpecs => On::PassPodRole,
        "iam:PassRole" => On::PassClusterRoles,
        "iam:GetRole" | "iam:ListAttachedRolePolicies" => On::Roles,
        "eks:CreateCluster" => On::NewCluster,
        "eks:DescribeNodegroup" | "eks:DeleteNodegroup" | "eks:UpdateNodegroupConfig" => {
            On::Nodegroup
        }
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
        | "autoscaling:DescribeAutoScalingGroups"
        | "ec2:DescribeSubnets" => On::Any,
        "route53:GetChange" => On::Change,
        "route53:ChangeResourceRecordSets" => On::Records,
        "autoscaling:CreateOrUpdateTags" => On::AutoScalingGroup,
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
    /// The names of the records paved writes for the app.
    record_names: Vec<String>,
    /// The cluster and node roles.
    cluster_roles: Vec<String>,
    /// The pods' role (the service account's).
    pod_roles: Vec<String>,
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
            record_names: Vec::new(),
            cluster_roles: Vec::new(),
            pod_roles: Vec::new(),
        }
    }
}

impl Scope {
    /// One app's names: its clusters (both colors), its repository and build cache, its hosted
    /// zone when the spec names its id, the account and partition of its roles.
    pub fn of(app: &crate::spec::KubeApp) -> Scope {
        let pod_roles: Vec<String> = app
            .service_account
            .as_ref()
            .and_then(|s| s.iam_role.clone())
            .into_iter()
            .collect();
        let cluster_roles: Vec<String> = [
            app.cluster.roles.cluster.as_ref(),
            app.cluster.roles.nodes.as_ref(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        // arn:<partition>:iam::<account>:role/<name>
        let parts: Vec<&str> = cluster_roles
            .iter()
            .chain(&pod_roles)
            .next()
            .map_or(Vec::new(), |r| r.split(':').collect());
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
            record_names: app
                .dns
                .iter()
                .flat_map(|d| [d.name.clone(), route53::owner_record_name(&d.name)])
                .map(|n| route53::host(&n))
                .collect(),
            cluster_roles,
            pod_roles,
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
            On::Zone | On::Records => vec![format!(
                "arn:{p}:route53:::hostedzone/{}",
                self.zone_id.as_deref().unwrap_or("*")
            )],
            On::Change => vec![format!("arn:{p}:route53:::change/*")],
            On::AutoScalingGroup => vec![format!(
                "arn:{p}:autoscaling:{r}:{a}:autoScalingGroup:*:autoScalingGroupName/eks-*"
            )],
            On::Roles => self.roles_or_any(self.cluster_roles.iter().chain(&self.pod_roles)),
            On::PassClusterRoles => self.roles_or_any(&self.cluster_roles),
            On::PassPodRole => self.roles_or_any(&self.pod_roles),
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

    /// The roles given, or any role of the account when the spec names none.
    fn roles_or_any<'a>(&self, roles: impl IntoIterator<Item = &'a String>) -> Vec<String> {
        let list: Vec<String> = roles.into_iter().cloned().collect();
        if list.is_empty() {
            vec![format!(
                "arn:{}:iam::{}:role/*",
                self.partition, self.account
            )]
        } else {
            list
        }
    }

    fn condition(&self, on: On) -> Option<Value> {
        match on {
            On::NewCluster => self.app.as_ref().map(|app| {
                json!({ "StringEquals": { format!("aws:RequestTag/{}", crate::aws::eks::tags::APP): app } })
            }),
            // Route 53 compares the changes' names lowercased, without the trailing dot
            // ("Normalizing the condition key values", specifying-rrset-conditions.html).
            On::Records if !self.record_names.is_empty() => Some(json!({
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": self.record_names
                }
            })),
            On::PassClusterRoles => Some(json!({
                "StringEquals": { "iam:PassedToService": "eks.amazonaws.com" }
            })),
            On::PassPodRole => Some(json!({
                "StringEquals": { "iam:PassedToService": "pods.eks.amazonaws.com" }
            })),
            On::ServiceLinkedRole => Some(json!({
                "StringEquals": { "iam:AWSServiceName": ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com"] }
            })),
            _ => None,
        }
    }
}

/// The policy document for `steps`: a statement for each kind of resource their actions act
/// on, named as narrowly as `scope` allows. The steps' actions are merged per kind, so the
/// document for every step stays within IAM's size limit for a managed policy.
pub fn document(steps: &[PolicyStep], scope: &Scope) -> Value {
    let mut by_scope: std::collections::BTreeMap<On, std::collections::BTreeSet<&str>> =
        Default::default();
    for step in steps {
        for action in step.actions() {
            by_scope
                .entry(scope_of(*step, action))
                .or_default()
                .insert(action);
        }
    }
    // One step's document keeps its name in every statement (a role per job).
    let prefix = match steps {
        [one] => one.sid(),
        _ => "Paved",
    };
    // An app whose pods assume no role has none to pass.
    if scope.app.is_some() && scope.pod_roles.is_empty() {
        by_scope.remove(&On::PassPodRole);
    }
    let statements: Vec<Value> = by_scope
        .into_iter()
        .map(|(on, actions)| {
            let mut statement = json!({
                "Sid": format!("{prefix}{}", sid_suffix(on)),
                "Effect": "Allow",
                "Action": actions.into_iter().collect::<Vec<_>>(),
                "Resource": scope.resources(on),
            });
            if let Some(condition) = scope.condition(on) {
                statement["Condition"] = condition;
            }
            statement
        })
        .collect();
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
        On::Records => "Records",
        On::Change => "Changes",
        On::AutoScalingGroup => "AutoScalingGroups",
        On::Roles => "ReadRoles",
        On::PassClusterRoles => "PassClusterRoles",
        On::PassPodRole => "PassPodRole",
        On::ServiceLinkedRole => "ServiceLinkedRoles",
    }
}

/// Print the policy for a role.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Only these steps [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub step: Vec<PolicyStep>,
    /// Scope the policy to one app: its clusters, repository, zone and roles instead of any
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
        let parts = statement(&doc, "PavedClusterAccessAndAddons");
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
        let addons = statement(&doc, "PavedClusterAccessAndAddons")["Action"].to_string();
        assert!(addons.contains("eks:CreateAddon") && !addons.contains("DescribeAddonVersions"));
        let roles = statement(&doc, "PavedPassPodRole")["Resource"].to_string();
        assert!(roles.contains("role/billing-app"), "{roles}");
    }

    /// IAM counts a managed policy's characters without whitespace, up to 6,144 (the IAM user
    /// guide, "IAM and AWS STS quotas"): the document for every step must fit one policy.
    #[test]
    fn the_whole_policy_fits_one_managed_policy() {
        let mut scopes = vec![("any app".to_string(), Scope::default())];
        for app in ["hello", "billing", "catalog"] {
            let dir = format!("{}/apps/{app}", env!("CARGO_MANIFEST_DIR"));
            scopes.push((
                app.into(),
                Scope::of(&crate::spec::load(&dir).expect(app).spec),
            ));
        }
        for (name, scope) in scopes {
            let text = serde_json::to_string(&document(&PolicyStep::all(), &scope)).expect("json");
            let chars = text.chars().filter(|c| !c.is_whitespace()).count();
            assert!(chars <= 6144, "{name}: {chars} characters");
            let doc: Value = serde_json::from_str(&text).expect("json");
            let sids: Vec<String> = doc["Statement"]
                .as_array()
                .expect("statements")
                .iter()
                .map(|s| s["Sid"].as_str().unwrap_or_default().to_ascii_lowercase())
                .collect();
            let unique: std::collections::BTreeSet<&String> = sids.iter().collect();
            assert_eq!(
                unique.len(),
                sids.len(),
                "{name}: Sids differ only in case: {sids:?}"
            );
        }
    }

    /// create-cluster hands the cluster and node roles to EKS, apply-specs the pods' role to
    /// Pod Identity; neither can pass the other's, and no role goes to EC2 (EKS does that with
    /// the cluster role's AmazonEKSComputePolicy).
    #[test]
    fn each_step_passes_only_its_own_roles() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/apps/billing");
        let scope = Scope::of(&crate::spec::load(dir).expect("billing").spec);
        let create = document(&[PolicyStep::CreateCluster], &scope);
        let pass = statement(&create, "PavedCreateClusterPassClusterRoles");
        assert_eq!(
            pass["Condition"]["StringEquals"]["iam:PassedToService"],
            "eks.amazonaws.com"
        );
        let roles = pass["Resource"].to_string();
        assert!(roles.contains("role/paved-cluster") && roles.contains("role/paved-nodes"));
        assert!(!roles.contains("billing-app"), "{roles}");
        let apply = document(&[PolicyStep::ApplySpecs], &scope);
        let pass = statement(&apply, "PavedApplySpecsPassPodRole");
        assert_eq!(
            pass["Resource"],
            "arn:aws:iam::123456789012:role/billing-app"
        );
        assert!(!apply.to_string().contains("paved-cluster"), "{apply:#}");
        // create-cluster's doctor reads every role the spec names, the pods' too.
        let read = statement(&create, "PavedCreateClusterReadRoles")["Resource"].to_string();
        assert!(
            read.contains("billing-app") && read.contains("paved-nodes"),
            "{read}"
        );
        let all = document(&PolicyStep::all(), &scope).to_string();
        assert!(!all.contains("ec2.amazonaws.com"), "{all}");
        // hello's pods assume no role: nothing to pass for them.
        let hello = concat!(env!("CARGO_MANIFEST_DIR"), "/apps/hello");
        let scope = Scope::of(&crate::spec::load(hello).expect("hello").spec);
        let apply = document(&[PolicyStep::ApplySpecs], &scope).to_string();
        assert!(!apply.contains("iam:PassRole"), "{apply}");
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
        let clusters = &statement(&doc, "PavedClusters")["Resource"];
        let region = &app.cluster.region;
        assert_eq!(
            clusters,
            &json!([
                format!("arn:aws:eks:{region}:123456789012:cluster/catalog-blue"),
                format!("arn:aws:eks:{region}:123456789012:cluster/catalog-green")
            ])
        );
        let repos = statement(&doc, "PavedRepositories")["Resource"].to_string();
        assert!(
            repos.contains(":repository/catalog\"")
                && repos.contains(":repository/catalog/buildcache"),
            "{repos}"
        );
        let zone = &statement(&doc, "PavedZone")["Resource"];
        assert_eq!(zone, "arn:aws:route53:::hostedzone/Z0123456789");
        let records = statement(&doc, "PavedRecords");
        assert_eq!(
            records["Action"],
            json!(["route53:ChangeResourceRecordSets"])
        );
        let name = route53::host(&app.dns.as_ref().expect("dns").name);
        assert_eq!(
            records["Condition"]["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"],
            json!([name.clone(), format!("_paved-owner.{name}")])
        );
        let new = statement(&doc, "PavedNewCluster");
        assert_eq!(new["Resource"], "*");
        assert_eq!(
            new["Condition"]["StringEquals"]["aws:RequestTag/paved.dev/app"],
            "catalog"
        );
        let slr = statement(&doc, "PavedServiceLinkedRoles");
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
                            .contains(&scope_of(PolicyStep::Plan, a.as_str().unwrap_or_default())),
                        "{a} is left unscoped"
                    );
                }
            }
        }
    }
}
