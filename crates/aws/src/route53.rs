//! Route53: reading the app's weighted records (one per color). Writing them is switch-traffic's.

use aws_sdk_route53::Client;
use std::time::Duration;

use aws_sdk_route53::error::ProvideErrorMetadata;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord,
    ResourceRecordSet, RrType,
};

use paved_wait::{Attempt, Backoff, Poll, WaitError, WaitOptions};

use super::AwsError;
use paved_core::plan::Color;
use paved_core::spec::Dns;

/// Errors talking to Route53.
#[derive(Debug, thiserror::Error)]
pub enum Route53Error {
    /// A Route 53 API call failed (after retries).
    #[error(transparent)]
    Api(#[from] AwsError),
    /// A record or batch paved built is incomplete (a bug: the SDK's builder says what).
    #[error("building a Route 53 request: {0}")]
    Build(#[from] aws_sdk_route53::error::BuildError),
    /// The spec names a zone the account does not have.
    #[error("no hosted zone `{0}` in this account")]
    NoZone(String),
    /// Route53 refused a change batch because a record is not as it was read: someone else
    /// changed it in between. Nothing was changed.
    #[error(
        "{0}: the records changed since they were read (another deploy or controller?); nothing was changed"
    )]
    Conflict(#[source] AwsError),
    /// Records at the name that paved did not create.
    #[error("{0}")]
    NotOwned(String),
    /// A change did not reach INSYNC in time.
    #[error("{0}")]
    TimedOut(String),
    /// A record paved cannot build here (an NLB in a region the table does not know).
    #[error("{0}")]
    Unsupported(String),
}

/// One color's weighted record, as read (kept whole: a later change batch deletes exactly it).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedRecord {
    pub color: Color,
    pub weight: i64,
    pub record: ResourceRecordSet,
}

fn fqdn(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with('.') {
        lower
    } else {
        format!("{lower}.")
    }
}

/// A hosted zone as the zone listings describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// With the final dot, lower case.
    pub name: String,
    pub id: String,
    pub private: bool,
}

impl Zone {
    fn from_sdk(z: &aws_sdk_route53::types::HostedZone) -> Zone {
        Zone {
            name: fqdn(z.name()),
            id: z.id().trim_start_matches("/hostedzone/").to_string(),
            private: z.config().is_some_and(|c| c.private_zone()),
        }
    }
}

/// The zone that holds the app's records, among `zones`: the one of the spec's name and kind
/// (public unless `dns.private`), or the spec's `dns.zoneId`. Split-view DNS gives a public and a
/// private zone one name, and an account may even hold two zones of one name and kind (Route 53
/// allows it): those need the id.
pub fn choose_zone<'a>(zones: &'a [Zone], dns: &Dns) -> Result<&'a Zone, Route53Error> {
    let wanted = fqdn(&dns.zone);
    let kind = if dns.private { "private" } else { "public" };
    if let Some(id) = &dns.zone_id {
        let id = id.trim_start_matches("/hostedzone/");
        return match zones.iter().find(|z| z.id == id) {
            Some(z) if z.name == wanted && z.private == dns.private => Ok(z),
            Some(z) => Err(Route53Error::NoZone(format!(
                "{} ({id} is the {} zone {})",
                dns.zone,
                if z.private { "private" } else { "public" },
                z.name
            ))),
            None => Err(Route53Error::NoZone(format!(
                "{} (no zone has id {id})",
                dns.zone
            ))),
        };
    }
    let named: Vec<&Zone> = zones.iter().filter(|z| z.name == wanted).collect();
    let of_kind: Vec<&Zone> = named
        .iter()
        .copied()
        .filter(|z| z.private == dns.private)
        .collect();
    match of_kind.as_slice() {
        [one] => Ok(one),
        [] if named.is_empty() => Err(Route53Error::NoZone(dns.zone.clone())),
        [] => Err(Route53Error::NoZone(format!(
            "{} as a {kind} zone (the account has a {} one: set dns.private: {})",
            dns.zone,
            if dns.private { "public" } else { "private" },
            !dns.private
        ))),
        many => Err(Route53Error::NoZone(format!(
            "{} as one zone: the account has {} {kind} zones of that name ({}); set dns.zoneId",
            dns.zone,
            many.len(),
            many.iter()
                .map(|z| z.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The id of the hosted zone that holds the app's records ([`choose_zone`]).
pub async fn zone_id(client: &Client, dns: &Dns) -> Result<String, Route53Error> {
    let wanted = fqdn(&dns.zone);
    // ListHostedZonesByName lists every zone from that name on, in order: zones of one name are
    // together, so reading stops at the first other name.
    let mut found = Vec::new();
    let mut next: Option<(String, Option<String>)> = Some((wanted.clone(), None));
    while let Some((name, id)) = next.take() {
        let out = client
            .list_hosted_zones_by_name()
            .dns_name(&name)
            .set_hosted_zone_id(id)
            .send()
            .await
            .map_err(|e| {
                Route53Error::Api(AwsError::new(&format!("find hosted zone {}", dns.zone), e))
            })?;
        let page: Vec<Zone> = out.hosted_zones().iter().map(Zone::from_sdk).collect();
        let past = page.iter().any(|z| z.name != wanted);
        found.extend(page.into_iter().filter(|z| z.name == wanted));
        if out.is_truncated() && !past {
            next = out
                .next_dns_name()
                .map(|n| (n.to_string(), out.next_hosted_zone_id().map(String::from)));
        }
    }
    choose_zone(&found, dns).map(|z| z.id.clone())
}

/// The blue/green records of `name` in `zone`, read as switch-traffic reads them (so that
/// teardown's guards and the plan see exactly what the switch sees).
pub async fn weights(client: &Client, dns: &Dns) -> Result<Vec<WeightedRecord>, Route53Error> {
    let name = dns.name.as_str();
    let id = zone_id(client, dns).await?;
    Ok(read_state(client, &id, name).await?.records)
}

/// Delete exactly this record (Route53 refuses if it changed since it was read).
pub async fn delete_record(
    client: &Client,
    dns: &Dns,
    record: &ResourceRecordSet,
) -> Result<(), Route53Error> {
    let id = zone_id(client, dns).await?;
    let change = Change::builder()
        .action(ChangeAction::Delete)
        .resource_record_set(record.clone())
        .build()
        .map_err(Route53Error::Build)?;
    let batch = ChangeBatch::builder()
        .comment("paved teardown")
        .changes(change)
        .build()
        .map_err(Route53Error::Build)?;
    client
        .change_resource_record_sets()
        .hosted_zone_id(id)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| {
            Route53Error::Api(AwsError::new(
                &format!(
                    "delete the {} record of {}",
                    record.set_identifier().unwrap_or("?"),
                    record.name()
                ),
                e,
            ))
        })?;
    Ok(())
}

/// The TXT record that marks the weighted records of `name` as paved's: `_paved-owner.<name>`.
pub fn owner_record_name(name: &str) -> String {
    format!("_paved-owner.{}", fqdn(name))
}

fn owner_value(app: &str) -> String {
    format!("\"paved app={app}\"")
}

/// Everything at the app's name, sorted into what paved owns and what it does not.
#[derive(Debug, Clone, Default)]
pub struct DnsState {
    pub records: Vec<WeightedRecord>,
    /// The ownership TXT record, if any.
    pub owner: Option<ResourceRecordSet>,
    /// The app named by the ownership record.
    pub owner_app: Option<String>,
    /// Record sets at the name that are not blue/green weighted records (type, set identifier).
    pub foreign: Vec<String>,
}

/// Read the weighted records of `name`, its ownership record, and anything else there.
pub async fn read_state(
    client: &Client,
    zone_id: &str,
    name: &str,
) -> Result<DnsState, Route53Error> {
    let mut listed = Vec::new();
    for start in [fqdn(name), owner_record_name(name)] {
        let out = client
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(&start)
            .max_items(20)
            .send()
            .await
            .map_err(|e| {
                Route53Error::Api(AwsError::new(&format!("read records of {start}"), e))
            })?;
        listed.extend(out.resource_record_sets().iter().cloned());
    }
    Ok(classify(&listed, name))
}

/// Sort the records read from a zone into `name`'s state (records elsewhere in the list, and a
/// record listed twice, are left out).
pub fn classify(listed: &[ResourceRecordSet], name: &str) -> DnsState {
    let wanted = fqdn(name);
    let owner_name = owner_record_name(name);
    let mut state = DnsState::default();
    let mut seen = std::collections::HashSet::new();
    for r in listed {
        let rname = fqdn(r.name());
        if !seen.insert((
            rname.clone(),
            r.r#type().clone(),
            r.set_identifier().map(String::from),
        )) {
            continue;
        }
        if rname == owner_name && r.r#type() == &RrType::Txt {
            state.owner_app = r.resource_records().iter().find_map(|v| {
                v.value()
                    .trim_matches('"')
                    .strip_prefix("paved app=")
                    .map(String::from)
            });
            state.owner = Some(r.clone());
        } else if rname == wanted {
            match r.set_identifier().and_then(|s| s.parse::<Color>().ok()) {
                Some(color) if r.weight().is_some() => state.records.push(WeightedRecord {
                    color,
                    weight: r.weight().unwrap_or(0),
                    record: r.clone(),
                }),
                _ => state.foreign.push(format!(
                    "{} {}",
                    r.r#type().as_str(),
                    r.set_identifier().unwrap_or("(simple)")
                )),
            }
        }
    }
    state
}

/// Every hosted zone of the account.
pub async fn zones(client: &Client) -> Result<Vec<Zone>, Route53Error> {
    let mut out = Vec::new();
    let mut pages = client.list_hosted_zones().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Route53Error::Api(AwsError::new("list hosted zones", e)))?;
        out.extend(page.hosted_zones().iter().map(Zone::from_sdk));
    }
    Ok(out)
}

/// Every record of a zone (for reading many apps' records in a few calls).
pub async fn zone_records(
    client: &Client,
    zone_id: &str,
) -> Result<Vec<ResourceRecordSet>, Route53Error> {
    let mut out = Vec::new();
    let mut start: Option<(String, RrType, Option<String>)> = None;
    loop {
        let mut req = client.list_resource_record_sets().hosted_zone_id(zone_id);
        if let Some((name, kind, id)) = &start {
            req = req
                .start_record_name(name)
                .start_record_type(kind.clone())
                .set_start_record_identifier(id.clone());
        }
        let page = req.send().await.map_err(|e| {
            Route53Error::Api(AwsError::new(
                &format!("read the records of zone {zone_id}"),
                e,
            ))
        })?;
        out.extend(page.resource_record_sets().iter().cloned());
        match (
            page.is_truncated(),
            page.next_record_name(),
            page.next_record_type(),
        ) {
            (true, Some(name), Some(kind)) => {
                start = Some((
                    name.to_string(),
                    kind.clone(),
                    page.next_record_identifier().map(String::from),
                ));
            }
            _ => return Ok(out),
        }
    }
}

/// A load balancer's hostname as records hold it: lowercase, without the trailing dot (Route 53
/// answers alias names with one).
pub fn host(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Where a weighted record sends traffic: an alias's DNS name, else its first value (the CNAMEs
/// of earlier paved versions), as `host` writes it.
pub fn record_target(record: &ResourceRecordSet) -> Option<String> {
    let raw = match record.alias_target() {
        Some(alias) => alias.dns_name(),
        None => record.resource_records().first()?.value(),
    };
    Some(host(raw))
}

/// Whether `record` already is the weighted alias `weighted_alias` would build.
pub fn is_alias_to(record: &ResourceRecordSet, weight: i64, target: &str) -> bool {
    record.r#type() == &RrType::A
        && record.alias_target().is_some()
        && record.weight() == Some(weight)
        && record_target(record) == Some(host(target))
}

/// A weighted alias A record of one color to its NLB, evaluating the NLB's target health (a
/// color whose targets are all unhealthy gets no answers while the other has healthy ones).
/// Unlike a CNAME it may sit at a zone's apex, and Route 53 does not bill queries to it.
pub fn weighted_alias(
    name: &str,
    color: Color,
    weight: i64,
    nlb_hostname: &str,
    region: &str,
) -> Result<ResourceRecordSet, Route53Error> {
    let zone = crate::nlb_zones::nlb_hosted_zone(region).ok_or_else(|| {
        Route53Error::Unsupported(format!(
            "no Network Load Balancer hosted zone is known for region {region} (crates/aws/src/nlb_zones.rs): add it from https://docs.aws.amazon.com/general/latest/gr/elb.html"
        ))
    })?;
    ResourceRecordSet::builder()
        .name(fqdn(name))
        .r#type(RrType::A)
        .set_identifier(color.as_str())
        .weight(weight)
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(zone)
                .dns_name(host(nlb_hostname))
                .evaluate_target_health(true)
                .build()
                .map_err(Route53Error::Build)?,
        )
        .build()
        .map_err(Route53Error::Build)
}

pub fn owner_txt(name: &str, app: &str, ttl: i64) -> Result<ResourceRecordSet, Route53Error> {
    ResourceRecordSet::builder()
        .name(owner_record_name(name))
        .r#type(RrType::Txt)
        .ttl(ttl)
        .resource_records(
            ResourceRecord::builder()
                .value(owner_value(app))
                .build()
                .map_err(Route53Error::Build)?,
        )
        .build()
        .map_err(Route53Error::Build)
}

pub fn change(action: ChangeAction, record: ResourceRecordSet) -> Result<Change, Route53Error> {
    Change::builder()
        .action(action)
        .resource_record_set(record)
        .build()
        .map_err(Route53Error::Build)
}

/// Submit one change batch; returns the change id. A batch whose DELETE does not match the
/// live record (or whose CREATE finds one) fails as a whole: that is the compare-and-swap.
/// PriorRequestNotComplete (the zone is busy with an earlier change) is retried with backoff.
pub async fn submit(
    client: &Client,
    zone_id: &str,
    changes: Vec<Change>,
    comment: &str,
) -> Result<String, Route53Error> {
    let batch = ChangeBatch::builder()
        .comment(comment)
        .set_changes(Some(changes))
        .build()
        .map_err(Route53Error::Build)?;
    // PriorRequestNotComplete: the zone is still applying an earlier change.
    let busy = Backoff {
        first: Duration::from_millis(500),
        max: Duration::from_secs(8),
        attempts: 8,
    };
    paved_wait::retry("Route 53 change", busy, |_| async {
        match client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch.clone())
            .send()
            .await
        {
            Ok(out) => Attempt::Done(
                out.change_info()
                    .map(|c| c.id().to_string())
                    .unwrap_or_default(),
            ),
            Err(e) if e.code() == Some("PriorRequestNotComplete") => Attempt::Again {
                error: Route53Error::Api(AwsError::new("change records", e)),
                after: None,
            },
            Err(e) if e.code() == Some("InvalidChangeBatch") => Attempt::Failed(
                Route53Error::Conflict(AwsError::new("Route53 refused the change", e)),
            ),
            Err(e) => Attempt::Failed(Route53Error::Api(AwsError::new("change records", e))),
        }
    })
    .await
}

/// Poll GetChange every `interval` until INSYNC.
pub async fn wait_insync(
    client: &Client,
    change_id: &str,
    interval: Duration,
    timeout: Duration,
) -> Result<(), Route53Error> {
    let what = format!("Route 53 change {change_id}");
    paved_wait::wait_for(&what, WaitOptions::new(interval, timeout), || async {
        let out = client
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(|e| Route53Error::Api(AwsError::new(&format!("get change {change_id}"), e)))?;
        Ok(match out.change_info().map(|c| c.status()) {
            Some(ChangeStatus::Insync) => Poll::Ready(()),
            other => Poll::Pending(other.map_or("unknown".into(), |s| s.as_str().to_string())),
        })
    })
    .await
    .map_err(|e| match e {
        WaitError::Failed(e) => e,
        timed_out => Route53Error::TimedOut(timed_out.to_string()),
    })
}

#[cfg(test)]
mod zone_choice {
    use super::*;

    fn zone(id: &str, name: &str, private: bool) -> Zone {
        Zone {
            name: name.into(),
            id: id.into(),
            private,
        }
    }

    fn dns(private: bool, zone_id: Option<&str>) -> Dns {
        Dns {
            zone: "Example.com".into(),
            name: "www.example.com".into(),
            ttl: 60,
            private,
            zone_id: zone_id.map(String::from),
        }
    }

    #[test]
    fn the_kind_the_spec_names_wins_whatever_the_listing_order() {
        let zones = [
            zone("ZPRIV", "example.com.", true),
            zone("ZPUB", "example.com.", false),
            zone("ZOTHER", "example.org.", false),
        ];
        assert_eq!(
            choose_zone(&zones, &dns(false, None))
                .map(|z| z.id.as_str())
                .ok(),
            Some("ZPUB")
        );
        assert_eq!(
            choose_zone(&zones, &dns(true, None))
                .map(|z| z.id.as_str())
                .ok(),
            Some("ZPRIV")
        );
    }

    #[test]
    fn a_missing_kind_says_which_kind_exists() {
        let zones = [zone("ZPRIV", "example.com.", true)];
        let err = choose_zone(&zones, &dns(false, None)).expect_err("no public zone");
        assert!(err.to_string().contains("set dns.private: true"), "{err}");
        let err = choose_zone(&[], &dns(false, None)).expect_err("no zone");
        assert!(
            err.to_string().contains("no hosted zone `Example.com`"),
            "{err}"
        );
    }

    #[test]
    fn two_zones_of_one_name_and_kind_need_the_id() {
        let zones = [
            zone("ZA", "example.com.", false),
            zone("ZB", "example.com.", false),
        ];
        let err = choose_zone(&zones, &dns(false, None)).expect_err("ambiguous");
        assert!(
            err.to_string().contains("ZA, ZB") && err.to_string().contains("dns.zoneId"),
            "{err}"
        );
        let chosen = choose_zone(&zones, &dns(false, Some("/hostedzone/ZB"))).expect("by id");
        assert_eq!(chosen.id, "ZB");
        let err = choose_zone(&zones, &dns(true, Some("ZB"))).expect_err("kind differs");
        assert!(err.to_string().contains("public zone"), "{err}");
    }
}
