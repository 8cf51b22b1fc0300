//! switch-traffic against moto's Route53 and EKS (the full sequence, refusals, restore, resume),
//! and with aws-smithy-mocks for what moto cannot show (a DELETE that no longer matches, PENDING).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use paved::aws::eks::{self, tags};
use paved::aws::route53;
use paved::plan::Color;
use paved::steps::{Output, StepError, switch_traffic};
use support::http_server::App;
use support::{aws::moto_args, bed_service};

fn write_spec(dir: &Path, name: &str) {
    std::fs::write(
        dir.join("kubeapp.yaml"),
        format!(
            "name: {name}
image: {{ native: {{ files: [{{ src: bin, dest: /bin/app }}] }} }}
cluster:
  region: us-east-1
  version: \"1.33\"
  network: {{ subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002] }}
  roles: {{ cluster: \"arn:aws:iam::123456789012:role/c\", nodes: \"arn:aws:iam::123456789012:role/n\" }}
  nodegroups: {{ default: {{ instanceTypes: [m7i.large], min: 1, max: 2 }} }}
components:
  web: {{ ports: {{ http: 8080 }}, service: {{ port: 80, public: true }} }}
dns: {{ zone: {name}.test, name: www.{name}.test, ttl: 0 }}
deploy:
  verify: {{ checks: [{{ http: /healthz, body: ok }}] }}
  traffic: {{ steps: [10, 50, 100], hold: 0s }}
"
        ),
    )
    .expect("spec");
}

struct Bed {
    aws: String,
    dir: tempfile::TempDir,
    name: String,
    app: App,
}

impl Bed {
    async fn new(name: &str) -> Option<Bed> {
        let aws = bed_service("PAVED_TEST_AWS_ENDPOINT")?;
        let name = &support::unique(name);
        let dir = tempfile::tempdir().expect("tempdir");
        write_spec(dir.path(), name);
        let bed = Bed {
            aws,
            dir,
            name: name.into(),
            app: App::start(200, "ok"),
        };
        let sdk = bed.sdk().await;
        aws_sdk_route53::Client::new(&sdk)
            .create_hosted_zone()
            .name(format!("{name}.test"))
            .caller_reference(format!("{name}-zone"))
            .send()
            .await
            .expect("zone");
        let loaded = paved::spec::load(&bed.dir.path().display().to_string()).expect("spec");
        let hash = paved::hash::cluster_hash(&loaded.spec);
        let eks_client = aws_sdk_eks::Client::new(&sdk);
        for color in [Color::Blue, Color::Green] {
            eks::create_cluster(&eks_client, &loaded.spec, color, &hash, "test")
                .await
                .expect("cluster");
            bed.tag(color, tags::LB_HOSTNAME, &format!("{color}.lb.{name}.test"))
                .await;
        }
        Some(bed)
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        moto_args(&self.aws).sdk_config("us-east-1").await
    }

    async fn tag(&self, color: Color, key: &str, value: &str) {
        let eks_client = aws_sdk_eks::Client::new(&self.sdk().await);
        let c = eks::describe_cluster(&eks_client, &format!("{}-{color}", self.name))
            .await
            .expect("describe")
            .expect("exists");
        eks::tag_cluster(
            &eks_client,
            &c,
            HashMap::from([(key.to_string(), value.to_string())]),
        )
        .await
        .expect("tag");
    }

    async fn cluster_tags(&self, color: Color) -> HashMap<String, String> {
        let eks_client = aws_sdk_eks::Client::new(&self.sdk().await);
        let c = eks::describe_cluster(&eks_client, &format!("{}-{color}", self.name))
            .await
            .expect("describe")
            .expect("exists");
        c.tags().cloned().unwrap_or_default()
    }

    async fn switch(
        &self,
        to: Color,
        steps: Option<Vec<u8>>,
    ) -> Result<switch_traffic::SwitchOutcome, StepError> {
        switch_traffic::run(&switch_traffic::Args {
            steps,
            ..self.args(to)
        })
        .await
    }

    fn args(&self, to: Color) -> switch_traffic::Args {
        switch_traffic::Args {
            ledger: Default::default(),
            app: self.dir.path().display().to_string(),
            aws: moto_args(&self.aws),
            to,
            steps: None,
            target: None,
            check_url: Some(self.app.url()),
            image: None,
            force: false,
            reason: None,
            poll_interval: std::time::Duration::ZERO,
            output: Output::Json,
        }
    }

    fn dns(&self) -> paved::spec::Dns {
        paved::spec::load(&self.dir.path().display().to_string())
            .expect("spec")
            .spec
            .dns
            .expect("dns")
    }

    async fn state(&self) -> route53::DnsState {
        let r53 = aws_sdk_route53::Client::new(&self.sdk().await);
        let zone = route53::zone_id(&r53, &self.dns()).await.expect("zone");
        route53::read_state(&r53, &zone, &format!("www.{}.test", self.name))
            .await
            .expect("state")
    }

    async fn weights(&self) -> BTreeMap<Color, i64> {
        self.state()
            .await
            .records
            .iter()
            .map(|r| (r.color, r.weight))
            .collect()
    }
}

#[tokio::test]
async fn the_full_sequence_moves_every_step_and_marks_the_old_cluster_drained() {
    let Some(bed) = Bed::new("fullswitch").await else {
        return;
    };
    bed.tag(Color::Blue, tags::VERIFIED, "sha256:blue").await;
    // First deploy: straight to 100, with the ownership record.
    let first = bed.switch(Color::Blue, None).await.expect("first switch");
    assert_eq!(first.applied, vec![100]);
    assert_eq!(bed.weights().await, BTreeMap::from([(Color::Blue, 100)]));
    let state = bed.state().await;
    assert_eq!(state.owner_app.as_deref(), Some(bed.name.as_str()));
    // A weighted alias to the NLB, in the NLB hosted zone of the app's region, evaluating its
    // target health.
    let record = &state.records[0].record;
    assert_eq!(record.r#type().as_str(), "A");
    let alias = record.alias_target().expect("an alias record");
    assert_eq!(alias.hosted_zone_id(), "Z26RNL4JYFTOTI");
    assert!(alias.evaluate_target_health());
    assert!(record.ttl().is_none() && record.resource_records().is_empty());
    assert_eq!(
        route53::record_target(record),
        Some(format!("blue.lb.{}.test", bed.name))
    );

    bed.tag(Color::Green, tags::VERIFIED, "sha256:green").await;
    let hits_before = bed.app.hits();
    let outcome = bed.switch(Color::Green, None).await.expect("switch");
    assert_eq!(outcome.applied, vec![10, 50, 100]);
    assert_eq!(
        bed.weights().await,
        BTreeMap::from([(Color::Blue, 0), (Color::Green, 100)])
    );
    assert!(
        bed.app.hits() >= hits_before + 3,
        "checks ran between steps"
    );
    let drained = bed.cluster_tags(Color::Blue).await;
    assert!(
        drained
            .get(tags::DRAINED_AT)
            .is_some_and(|t| t.parse::<u64>().is_ok()),
        "{drained:?}"
    );
    // Running it again changes nothing.
    let again = bed.switch(Color::Green, None).await.expect("again");
    assert!(again.applied.is_empty());
}

#[tokio::test]
async fn a_private_zone_of_the_same_name_is_not_the_public_apps_zone() {
    let Some(bed) = Bed::new("splitview").await else {
        return;
    };
    let sdk = bed.sdk().await;
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let private = r53
        .create_hosted_zone()
        .name(format!("{}.test", bed.name))
        .caller_reference(format!("{}-private", bed.name))
        .hosted_zone_config(
            aws_sdk_route53::types::HostedZoneConfig::builder()
                .private_zone(true)
                .build(),
        )
        .vpc(
            aws_sdk_route53::types::Vpc::builder()
                .vpc_id(PRIVATE_ZONE_VPC)
                .vpc_region(aws_sdk_route53::types::VpcRegion::UsEast1)
                .build(),
        )
        .send()
        .await
        .expect("private zone");
    let private_id = private
        .hosted_zone()
        .expect("zone")
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    bed.tag(Color::Blue, tags::VERIFIED, "sha256:blue").await;
    bed.switch(Color::Blue, None).await.expect("switch");
    // The records went to the public zone the spec means; the private one has none of them.
    assert_eq!(bed.weights().await, BTreeMap::from([(Color::Blue, 100)]));
    let in_private = route53::read_state(&r53, &private_id, &format!("www.{}.test", bed.name))
        .await
        .expect("read private");
    assert!(in_private.records.is_empty(), "{:?}", in_private.records);
    // A spec that says private gets the private zone; one that names an id of the other kind
    // is told so.
    let mut dns = bed.dns();
    dns.private = true;
    assert_eq!(
        route53::zone_id(&r53, &dns).await.expect("private"),
        private_id
    );
    dns.private = false;
    dns.zone_id = Some(private_id.clone());
    let err = route53::zone_id(&r53, &dns)
        .await
        .expect_err("kind differs");
    assert!(err.to_string().contains("private zone"), "{err}");
}

/// A VPC for a private zone (moto's Route 53 does not ask EC2 whether it exists).
const PRIVATE_ZONE_VPC: &str = "vpc-0a1b2c3d4e5f60001";

#[tokio::test]
async fn an_unverified_color_gets_no_weight() {
    let Some(bed) = Bed::new("unverified").await else {
        return;
    };
    bed.tag(Color::Blue, tags::VERIFIED, "sha256:blue").await;
    bed.switch(Color::Blue, None).await.expect("blue");
    let err = bed.switch(Color::Green, None).await.expect_err("refused");
    assert!(err.to_string().contains("has not passed verify"), "{err}");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(bed.weights().await, BTreeMap::from([(Color::Blue, 100)]));
    // Verified, but for an earlier deployment's image.
    bed.tag(Color::Green, tags::VERIFIED, "sha256:old").await;
    let err = switch_traffic::run(&switch_traffic::Args {
        image: Some("registry/app@sha256:new".into()),
        ..bed.args(Color::Green)
    })
    .await
    .expect_err("stale mark");
    assert!(
        err.to_string()
            .contains("was verified for sha256:old, not for registry/app@sha256:new"),
        "{err}"
    );
    assert_eq!(bed.weights().await, BTreeMap::from([(Color::Blue, 100)]));
    // --force with a reason is the logged way around it.
    let forced = switch_traffic::run(&switch_traffic::Args {
        force: true,
        reason: Some("hotfix".into()),
        steps: Some(vec![100]),
        ..bed.args(Color::Green)
    })
    .await
    .expect("forced");
    assert_eq!(forced.weights.get(&Color::Green), Some(&100));
}

#[tokio::test]
async fn a_failing_check_restores_the_previous_weights() {
    let Some(bed) = Bed::new("restore").await else {
        return;
    };
    // Blue serves. Its records are written with UPSERT: moto refuses to CREATE a record identical
    // to one it journaled earlier while another record of the name exists, even when the same
    // batch DELETEs it (real Route53 accepts that batch), so the restore below could not be shown
    // on records paved itself created.
    let r53 = aws_sdk_route53::Client::new(&bed.sdk().await);
    let zone = route53::zone_id(
        &r53,
        &support::aws::public_zone(&format!("{}.test", bed.name)),
    )
    .await
    .expect("zone");
    let upserts = vec![
        route53::change(
            aws_sdk_route53::types::ChangeAction::Upsert,
            support::aws::cname(
                &format!("www.{}.test", bed.name),
                Color::Blue,
                100,
                &format!("blue.lb.{}.test", bed.name),
                0,
            ),
        )
        .expect("change"),
        route53::change(
            aws_sdk_route53::types::ChangeAction::Upsert,
            route53::owner_txt(&format!("www.{}.test", bed.name), &bed.name, 0).expect("txt"),
        )
        .expect("change"),
    ];
    route53::submit(&r53, &zone, upserts, "serving")
        .await
        .expect("blue records");
    let before = bed.state().await;
    assert_eq!(before.owner_app.as_deref(), Some(bed.name.as_str()));
    bed.tag(Color::Green, tags::VERIFIED, "sha256:green").await;
    bed.app.set(500, "broken");
    let err = bed.switch(Color::Green, None).await.expect_err("restored");
    assert!(
        err.to_string()
            .contains("the previous weights are restored"),
        "{err}"
    );
    assert!(err.to_string().contains("status 500"), "{err}");
    let after = bed.state().await;
    assert_eq!(
        after.records, before.records,
        "exactly the records found at the start"
    );
}

#[tokio::test]
async fn a_killed_switch_resumes_from_the_weights_it_finds() {
    let Some(bed) = Bed::new("resume").await else {
        return;
    };
    bed.tag(Color::Blue, tags::VERIFIED, "sha256:blue").await;
    bed.tag(Color::Green, tags::VERIFIED, "sha256:green").await;
    bed.switch(Color::Blue, None).await.expect("blue");
    let bad = bed
        .switch(Color::Green, Some(vec![10, 50]))
        .await
        .expect_err("steps must end at 100");
    assert_eq!(bad.exit_code(), 2);
    // What a run killed after its 50% step leaves.
    set_weights(&bed, 50).await;
    let resumed = bed.switch(Color::Green, None).await.expect("resume");
    assert_eq!(
        resumed.applied,
        vec![100],
        "only the steps above the weight found"
    );
    assert_eq!(
        bed.weights().await,
        BTreeMap::from([(Color::Blue, 0), (Color::Green, 100)])
    );
}

/// Put green at `green` percent and blue at the rest, as an interrupted switch would have.
async fn set_weights(bed: &Bed, green: i64) {
    let r53 = aws_sdk_route53::Client::new(&bed.sdk().await);
    let zone = route53::zone_id(
        &r53,
        &support::aws::public_zone(&format!("{}.test", bed.name)),
    )
    .await
    .expect("zone");
    let state = bed.state().await;
    let name = format!("www.{}.test", bed.name);
    let mut changes = Vec::new();
    for r in &state.records {
        changes.push(
            route53::change(
                aws_sdk_route53::types::ChangeAction::Delete,
                r.record.clone(),
            )
            .expect("change"),
        );
    }
    for (color, weight) in [(Color::Blue, 100 - green), (Color::Green, green)] {
        let rec = support::aws::cname(
            &name,
            color,
            weight,
            &format!("{color}.lb.{}.test", bed.name),
            0,
        );
        changes.push(
            route53::change(aws_sdk_route53::types::ChangeAction::Create, rec).expect("change"),
        );
    }
    route53::submit(&r53, &zone, changes, "test")
        .await
        .expect("submit");
}

#[tokio::test]
async fn records_without_the_ownership_mark_are_not_touched() {
    let Some(bed) = Bed::new("foreign").await else {
        return;
    };
    bed.tag(Color::Green, tags::VERIFIED, "sha256:green").await;
    // Someone else's weighted records at the name, without paved's TXT record.
    let r53 = aws_sdk_route53::Client::new(&bed.sdk().await);
    let zone = route53::zone_id(
        &r53,
        &support::aws::public_zone(&format!("{}.test", bed.name)),
    )
    .await
    .expect("zone");
    let rec = support::aws::cname(
        &format!("www.{}.test", bed.name),
        Color::Blue,
        100,
        "other.example",
        60,
    );
    route53::submit(
        &r53,
        &zone,
        vec![route53::change(aws_sdk_route53::types::ChangeAction::Create, rec).expect("c")],
        "other",
    )
    .await
    .expect("submit");
    let before = bed.state().await;
    let err = bed.switch(Color::Green, None).await.expect_err("not ours");
    assert!(
        err.to_string().contains("without paved's ownership record"),
        "{err}"
    );
    assert_eq!(bed.state().await.records, before.records);
}

mod mocked {
    use aws_sdk_route53::Client;
    use aws_sdk_route53::error::ErrorMetadata;
    use aws_sdk_route53::operation::change_resource_record_sets::{
        ChangeResourceRecordSetsError, ChangeResourceRecordSetsOutput,
    };
    use aws_sdk_route53::operation::get_change::GetChangeOutput;
    use aws_sdk_route53::types::error::InvalidChangeBatch;
    use aws_sdk_route53::types::{ChangeAction, ChangeInfo, ChangeStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use paved::aws::route53::{self, Route53Error};
    use paved::plan::Color;

    fn info(status: ChangeStatus) -> ChangeInfo {
        ChangeInfo::builder()
            .id("/change/C1")
            .status(status)
            .submitted_at(aws_sdk_route53::primitives::DateTime::from_secs(0))
            .build()
            .expect("info")
    }

    #[tokio::test]
    async fn a_record_changed_by_someone_else_fails_the_batch() {
        // Real Route53's answer to a DELETE whose values no longer match (moto accepts it).
        let refuse = mock!(Client::change_resource_record_sets).then_error(|| {
            let message = "[Tried to delete resource record set [name='www.example.com.', type='CNAME', set-identifier='blue'] but the values provided do not match the current values]";
            ChangeResourceRecordSetsError::InvalidChangeBatch(
                InvalidChangeBatch::builder()
                    .message(message)
                    .meta(ErrorMetadata::builder().code("InvalidChangeBatch").message(message).build())
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_route53, RuleMode::Sequential, [&refuse]);
        let stale = crate::support::aws::cname("www.example.com", Color::Blue, 100, "old.lb", 60);
        let changes = vec![route53::change(ChangeAction::Delete, stale).expect("change")];
        match route53::submit(&client, "Z1", changes, "test").await {
            Err(e @ Route53Error::Conflict(_)) => {
                let msg = e.to_string();
                assert!(msg.contains("do not match the current values"), "{msg}");
                assert!(msg.contains("nothing was changed"), "{msg}");
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(refuse.num_calls(), 1, "a conflict is not retried");
    }

    #[tokio::test]
    async fn prior_request_not_complete_is_retried() {
        let busy = mock!(Client::change_resource_record_sets)
            .sequence()
            .error(|| {
                ChangeResourceRecordSetsError::PriorRequestNotComplete(
                    aws_sdk_route53::types::error::PriorRequestNotComplete::builder()
                        .message("The request was rejected because Route 53 was still processing a prior request.")
                        .meta(ErrorMetadata::builder().code("PriorRequestNotComplete").build())
                        .build(),
                )
            })
            .times(2)
            .output(|| ChangeResourceRecordSetsOutput::builder().change_info(info(ChangeStatus::Pending)).build())
            .build();
        let client = mock_client!(aws_sdk_route53, RuleMode::Sequential, [&busy]);
        let rec =
            route53::weighted_alias("www.example.com", Color::Green, 10, "new.lb", "us-east-1")
                .expect("record");
        let id = route53::submit(
            &client,
            "Z1",
            vec![route53::change(ChangeAction::Create, rec).expect("c")],
            "t",
        )
        .await
        .expect("retried");
        assert_eq!(id, "/change/C1");
        assert_eq!(busy.num_calls(), 3);
    }

    #[tokio::test]
    async fn changes_are_polled_every_interval_until_insync() {
        let change = mock!(Client::get_change)
            .sequence()
            .output(|| {
                GetChangeOutput::builder()
                    .change_info(info(ChangeStatus::Pending))
                    .build()
            })
            .times(3)
            .output(|| {
                GetChangeOutput::builder()
                    .change_info(info(ChangeStatus::Insync))
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_route53, RuleMode::Sequential, [&change]);
        let start = std::time::Instant::now();
        route53::wait_insync(
            &client,
            "/change/C1",
            std::time::Duration::from_millis(20),
            std::time::Duration::from_secs(5),
        )
        .await
        .expect("insync");
        assert_eq!(change.num_calls(), 4);
        assert!(
            start.elapsed() >= std::time::Duration::from_millis(60),
            "waited between polls"
        );
    }
}
