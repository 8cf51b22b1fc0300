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
    "route53:ListHostedZonesByName",
    "route53:ListResourceRecordSets",
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
    /// no permission).
    pub fn actions(self) -> Vec<&'static str> {
        let own: &[&str] = match self {
            PolicyStep::Plan => &["ecr:DescribeImages", "ecr:DescribeRepositories"],
            PolicyStep::BuildImage => &[
                "ecr:DescribeRepositories",
                "ecr:CreateRepository",
                "ecr:TagResource",
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
            ],
            PolicyStep::CreateCluster => &[
                "eks:CreateCluster",
                "eks:CreateNodegroup",
                "eks:TagResource",
                "iam:PassRole",
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:CreateOrUpdateTags",
            ],
            PolicyStep::ApplySpecs => &["eks:UntagResource", "eks:TagResource"],
            PolicyStep::Verify => &["eks:TagResource"],
            PolicyStep::SwitchTraffic => &[
                "route53:ChangeResourceRecordSets",
                "route53:GetChange",
                "eks:TagResource",
            ],
            PolicyStep::Teardown => &[
                "eks:DeleteNodegroup",
                "eks:DeleteCluster",
                "route53:ChangeResourceRecordSets",
                "route53:GetChange",
            ],
            PolicyStep::Deploy => &[
                "ecr:DescribeRepositories",
                "ecr:CreateRepository",
                "ecr:TagResource",
                "ecr:PutImage",
                "ecr:BatchGetImage",
                "ecr:BatchDeleteImage",
            ],
        };
        let mut actions: Vec<&str> = READ_STATE.iter().chain(own).copied().collect();
        actions.sort_unstable();
        actions.dedup();
        actions
    }
}

/// The policy document for `steps`; resources are left to `*` except iam:PassRole, which names
/// the roles paved passes (the spec's cluster and node roles, given as `role_arns`).
pub fn document(steps: &[PolicyStep], role_arns: &[String]) -> Value {
    let mut statements: Vec<Value> = steps
        .iter()
        .map(|s| {
            let actions: Vec<&str> = s
                .actions()
                .into_iter()
                .filter(|a| *a != "iam:PassRole")
                .collect();
            json!({ "Sid": s.sid(), "Effect": "Allow", "Action": actions, "Resource": "*" })
        })
        .collect();
    if steps.contains(&PolicyStep::CreateCluster) {
        let resources: Value = if role_arns.is_empty() {
            json!("arn:aws:iam::*:role/*")
        } else {
            json!(role_arns)
        };
        statements.push(json!({
            "Sid": "PavedPassClusterRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": resources,
            "Condition": { "StringEquals": { "iam:PassedToService": ["eks.amazonaws.com", "ec2.amazonaws.com"] } }
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
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
    let roles = match &args.app {
        Some(app) => match crate::spec::load(app) {
            Ok(l) => [l.spec.cluster.roles.cluster, l.spec.cluster.roles.nodes]
                .into_iter()
                .flatten()
                .collect(),
            Err(e) => {
                crate::cli::report_spec_error(&e);
                return crate::cli::exit::BAD_INPUT;
            }
        },
        None => Vec::new(),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&document(&steps, &roles)).unwrap_or_default()
    );
    crate::cli::exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_reads_the_state_and_only_create_cluster_passes_roles() {
        for s in PolicyStep::all() {
            assert!(s.actions().contains(&"eks:ListClusters"), "{s:?}");
        }
        let doc = document(&[PolicyStep::Teardown], &[]);
        let text = doc.to_string();
        assert!(text.contains("eks:DeleteCluster") && !text.contains("iam:PassRole"));
        let doc = document(
            &[PolicyStep::CreateCluster],
            &["arn:aws:iam::1:role/c".into()],
        );
        assert_eq!(doc["Statement"][1]["Resource"][0], "arn:aws:iam::1:role/c");
        assert!(!doc["Statement"][0].to_string().contains("iam:PassRole"));
    }
}
