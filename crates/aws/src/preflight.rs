//! What `paved doctor` reads before a cluster is created: the spec's subnets and the VPC's
//! load-balancer subnets (EC2), and the roles the cluster, its nodes and its pods assume (IAM).
//! Only reads; what the facts mean for a deploy is decided by the doctor step.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;
use aws_sdk_iam::error::ProvideErrorMetadata;
use serde_json::Value;

use super::AwsError;

/// The subnet tags the load balancers of EKS Auto Mode (and the AWS Load Balancer Controller)
/// choose their subnets by, with the value `1` or empty (the controller's "Subnet
/// auto-discovery" page).
pub const PUBLIC_ELB_TAG: &str = "kubernetes.io/role/elb";
pub const INTERNAL_ELB_TAG: &str = "kubernetes.io/role/internal-elb";

/// One subnet, as EC2 describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetFacts {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub tags: BTreeMap<String, String>,
}

impl SubnetFacts {
    /// Whether the subnet carries `tag` with a value load balancers accept (`1` or empty).
    pub fn tagged_for(&self, tag: &str) -> bool {
        self.tags.get(tag).is_some_and(|v| v.is_empty() || v == "1")
    }
}

/// The subnets among `ids` that exist, in the order EC2 lists them. A filter rather than
/// `SubnetIds`, so that one missing id does not hide what the others are.
pub async fn subnets(
    client: &aws_sdk_ec2::Client,
    ids: &[String],
) -> Result<Vec<SubnetFacts>, AwsError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let filter = Filter::builder()
        .name("subnet-id")
        .set_values(Some(ids.to_vec()))
        .build();
    describe(client, vec![filter], "describe the spec's subnets").await
}

/// The subnets of `vpc` tagged for load balancers of either scheme. Tags are matched here, not
/// by a `tag-key` filter, which moto ignores for subnets (a VPC holds few subnets).
pub async fn load_balancer_subnets(
    client: &aws_sdk_ec2::Client,
    vpc: &str,
) -> Result<Vec<SubnetFacts>, AwsError> {
    let filter = Filter::builder().name("vpc-id").values(vpc).build();
    let all = describe(
        client,
        vec![filter],
        &format!("describe the subnets of {vpc}"),
    )
    .await?;
    Ok(all
        .into_iter()
        .filter(|s| s.tags.contains_key(PUBLIC_ELB_TAG) || s.tags.contains_key(INTERNAL_ELB_TAG))
        .collect())
}

async fn describe(
    client: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
    what: &str,
) -> Result<Vec<SubnetFacts>, AwsError> {
    let pages: Vec<_> = client
        .describe_subnets()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut out = Vec::new();
    for subnet in pages {
        let subnet = subnet.map_err(|e| AwsError::new(what, e))?;
        out.push(SubnetFacts {
            id: subnet.subnet_id().unwrap_or_default().to_string(),
            vpc_id: subnet.vpc_id().unwrap_or_default().to_string(),
            availability_zone: subnet.availability_zone().unwrap_or_default().to_string(),
            tags: subnet
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        });
    }
    Ok(out)
}

/// One role: its trust policy and the managed policies attached to it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleFacts {
    pub arn: String,
    /// The trust policy document, decoded.
    pub trust: Value,
    /// The names of the attached managed policies (`AmazonEKSClusterPolicy`).
    pub attached: Vec<String>,
}

/// The role's name from its ARN (`arn:aws:iam::123456789012:role/path/name` names `name`;
/// GetRole takes the name without the path).
pub fn role_name(arn: &str) -> Option<&str> {
    let resource = arn.split(':').nth(5)?;
    let path = resource.strip_prefix("role/")?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The role `arn` names, or `None` when IAM has no such role.
pub async fn role(client: &aws_sdk_iam::Client, arn: &str) -> Result<Option<RoleFacts>, AwsError> {
    let Some(name) = role_name(arn) else {
        return Ok(None);
    };
    let got = match client.get_role().role_name(name).send().await {
        Ok(out) => out,
        Err(e) if e.code() == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(AwsError::new(&format!("read the role {name}"), e)),
    };
    let document = got
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .unwrap_or_default();
    let attached = client
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|p| {
            p.map(|p| p.policy_name().unwrap_or_default().to_string())
                .map_err(|e| AwsError::new(&format!("list the policies of the role {name}"), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(RoleFacts {
        arn: arn.to_string(),
        trust: trust_document(document),
        attached,
    }))
}

/// IAM returns policy documents URL-encoded (RFC 3986; GetRole's `AssumeRolePolicyDocument`);
/// a document that does not parse reads as `null`, which trusts no one.
pub fn trust_document(raw: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    serde_json::from_str(&decoded).unwrap_or(Value::Null)
}

/// Whether the trust policy lets `service` (`eks.amazonaws.com`) perform every one of `actions`
/// (`sts:AssumeRole`, `sts:TagSession`) through Allow statements. Conditions are not evaluated:
/// a statement with conditions counts, as the service meets the ones teams write (source account
/// or ARN).
pub fn trusts(trust: &Value, service: &str, actions: &[&str]) -> bool {
    let statements: Vec<&Value> = match trust.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let allowed: Vec<&Value> = statements
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .filter(|s| {
            s.get("Principal")
                .and_then(|p| p.get("Service"))
                .is_some_and(|v| strings(v).any(|p| p == service))
        })
        .collect();
    actions.iter().all(|wanted| {
        allowed.iter().any(|s| {
            s.get("Action")
                .is_some_and(|v| strings(v).any(|a| action_matches(a, wanted)))
        })
    })
}

/// A string, or an array of strings, as IAM policies write either.
fn strings(value: &Value) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

/// IAM action names match case-insensitively, with `*` as a wildcard (`sts:*`).
fn action_matches(pattern: &str, action: &str) -> bool {
    let (pattern, action) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match pattern.split_once('*') {
        None => pattern == action,
        Some((head, tail)) => {
            action.len() >= head.len() + tail.len()
                && action.starts_with(head)
                && action.ends_with(tail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_names_come_from_the_last_segment_of_the_path() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/paved-cluster"),
            Some("paved-cluster")
        );
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/teams/web/paved-nodes"),
            Some("paved-nodes")
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:user/alice"), None);
        assert_eq!(role_name("paved-cluster"), None);
    }

    #[test]
    fn trust_documents_are_url_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            trust_document(encoded),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert_eq!(trust_document("not json"), Value::Null);
    }

    #[test]
    fn trust_needs_every_action_for_the_service() {
        let eks = json!({"Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": ["ec2.amazonaws.com", "eks.amazonaws.com"]},
            "Action": ["sts:AssumeRole", "sts:TagSession"]
        }]});
        assert!(trusts(
            &eks,
            "eks.amazonaws.com",
            &["sts:AssumeRole", "sts:TagSession"]
        ));
        assert!(!trusts(&eks, "pods.eks.amazonaws.com", &["sts:AssumeRole"]));

        let assume_only = json!({"Statement": {
            "Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }});
        assert!(trusts(
            &assume_only,
            "eks.amazonaws.com",
            &["sts:AssumeRole"]
        ));
        assert!(!trusts(
            &assume_only,
            "eks.amazonaws.com",
            &["sts:AssumeRole", "sts:TagSession"]
        ));

        let wildcard = json!({"Statement": [{
            "Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "STS:*"
        }]});
        assert!(trusts(
            &wildcard,
            "eks.amazonaws.com",
            &["sts:AssumeRole", "sts:TagSession"]
        ));

        let denied = json!({"Statement": [{
            "Effect": "Deny", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"
        }]});
        assert!(!trusts(&denied, "eks.amazonaws.com", &["sts:AssumeRole"]));
        assert!(!trusts(
            &Value::Null,
            "eks.amazonaws.com",
            &["sts:AssumeRole"]
        ));
    }

    #[test]
    fn load_balancer_tags_take_one_or_empty() {
        let subnet = |v: &str| SubnetFacts {
            id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            availability_zone: "us-east-1a".into(),
            tags: BTreeMap::from([(PUBLIC_ELB_TAG.to_string(), v.to_string())]),
        };
        assert!(subnet("1").tagged_for(PUBLIC_ELB_TAG));
        assert!(subnet("").tagged_for(PUBLIC_ELB_TAG));
        assert!(!subnet("0").tagged_for(PUBLIC_ELB_TAG));
        assert!(!subnet("1").tagged_for(INTERNAL_ELB_TAG));
    }
}
