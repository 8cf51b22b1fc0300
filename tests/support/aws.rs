//! AWS settings that point the library's own SdkConfig builder at the test bed's moto server.

use aws_credential_types::Credentials;
use paved::aws::AwsArgs;

/// `AwsArgs` for moto at `endpoint` with fixed test credentials.
pub fn moto_args(endpoint: &str) -> AwsArgs {
    AwsArgs {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint.into()),
        credentials: Some(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "paved-tests",
        )),
    }
}

/// The DNS intent of a test app whose records live in the public zone `zone`.
pub fn public_zone(zone: &str) -> paved::spec::Dns {
    paved::spec::Dns {
        zone: zone.into(),
        name: format!("www.{zone}"),
        ttl: 60,
        private: false,
        zone_id: None,
    }
}

/// Clusters by color, with their tags.
pub type ClusterTags =
    std::collections::BTreeMap<paved::plan::Color, std::collections::HashMap<String, String>>;
/// DNS weights by color.
pub type Weights = std::collections::BTreeMap<paved::plan::Color, i64>;

/// The app's clusters (with their tags) and DNS weights in moto's us-east-1, the app's records
/// in the public zone `<app>.test`.
pub async fn app_state(endpoint: &str, app: &str) -> (ClusterTags, Weights) {
    let sdk = moto_args(endpoint).sdk_config("us-east-1").await;
    let eks_client = aws_sdk_eks::Client::new(&sdk);
    let clusters = paved::aws::eks::app_clusters(&eks_client, app)
        .await
        .expect("clusters")
        .into_iter()
        .map(|(c, cl)| (c, cl.tags().cloned().unwrap_or_default()))
        .collect();
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let weights = paved::aws::route53::weights(&r53, &public_zone(&format!("{app}.test")))
        .await
        .expect("weights")
        .into_iter()
        .map(|r| (r.color, r.weight))
        .collect();
    (clusters, weights)
}

/// A weighted CNAME of one color: what earlier paved versions wrote (paved now writes alias
/// records, and replaces these), or someone else's record.
#[allow(dead_code)]
pub fn cname(
    name: &str,
    color: paved::plan::Color,
    weight: i64,
    target: &str,
    ttl: i64,
) -> aws_sdk_route53::types::ResourceRecordSet {
    use aws_sdk_route53::types::{ResourceRecord, ResourceRecordSet, RrType};
    ResourceRecordSet::builder()
        .name(format!("{}.", name.trim_end_matches('.')))
        .r#type(RrType::Cname)
        .set_identifier(color.as_str())
        .weight(weight)
        .ttl(ttl)
        .resource_records(
            ResourceRecord::builder()
                .value(target)
                .build()
                .expect("value"),
        )
        .build()
        .expect("record")
}

/// The example subnet ids specs carry (apps/hello, apps/catalog).
const PLACEHOLDER_SUBNETS: [[&str; 2]; 2] = [
    ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    ["subnet-0c1d2e3f4a5b60001", "subnet-0c1d2e3f4a5b60002"],
];

/// `spec` with its example subnet ids replaced by the bed's subnets of the spec's region (made
/// by scripts/testbed/account.py, which exports PAVED_TEST_SUBNETS), so that create-cluster's
/// preflight finds them in moto's EC2.
pub fn with_bed_subnets(spec: &str) -> String {
    let Some(all) = super::bed_service("PAVED_TEST_SUBNETS") else {
        return spec.to_string();
    };
    let region = spec
        .lines()
        .find_map(|l| l.trim().strip_prefix("region: "))
        .expect("the spec names its region")
        .trim();
    let ids: Vec<&str> = all
        .split(';')
        .find_map(|r| r.strip_prefix(&format!("{region}=")))
        .unwrap_or_else(|| panic!("the bed has no subnets in {region}: {all}"))
        .split(',')
        .collect();
    let mut out = spec.to_string();
    for pair in PLACEHOLDER_SUBNETS {
        for (placeholder, id) in pair.iter().zip(&ids) {
            out = out.replace(placeholder, id);
        }
    }
    out
}
