//! Route53: reading the app's weighted records (one per color). Writing them is switch-traffic's.

use aws_sdk_route53::Client;
use std::time::{Duration, Instant};

use aws_sdk_route53::error::ProvideErrorMetadata;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};

use super::describe_error;
use crate::plan::Color;

/// Errors talking to Route53.
#[derive(Debug, thiserror::Error)]
pub enum Route53Error {
    #[error("{0}")]
    Api(String),
    /// The spec names a zone the account does not have.
    #[error("no hosted zone `{0}` in this account")]
    NoZone(String),
    /// Route53 refused a change batch because a record is not as it was read: someone else
    /// changed it in between. Nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// Records at the name that paved did not create.
    #[error("{0}")]
    NotOwned(String),
    /// A change did not reach INSYNC in time.
    #[error("{0}")]
    TimedOut(String),
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

/// The id of the public or private hosted zone named `zone`.
pub async fn zone_id(client: &Client, zone: &str) -> Result<String, Route53Error> {
    let wanted = fqdn(zone);
    let out = client
        .list_hosted_zones_by_name()
        .dns_name(&wanted)
        .max_items(10)
        .send()
        .await
        .map_err(|e| Route53Error::Api(describe_error(&format!("find hosted zone {zone}"), &e)))?;
    out.hosted_zones()
        .iter()
        .find(|z| fqdn(z.name()) == wanted)
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .ok_or_else(|| Route53Error::NoZone(zone.to_string()))
}

/// The blue/green records of `name` in `zone`, read as switch-traffic reads them (so that
/// teardown's guards and the plan see exactly what the switch sees).
pub async fn weights(
    client: &Client,
    zone: &str,
    name: &str,
) -> Result<Vec<WeightedRecord>, Route53Error> {
    let id = zone_id(client, zone).await?;
    Ok(read_state(client, &id, name).await?.records)
}

/// Delete exactly this record (Route53 refuses if it changed since it was read).
pub async fn delete_record(
    client: &Client,
    zone: &str,
    record: &ResourceRecordSet,
) -> Result<(), Route53Error> {
    let id = zone_id(client, zone).await?;
    let change = Change::builder()
        .action(ChangeAction::Delete)
        .resource_record_set(record.clone())
        .build()
        .map_err(|e| Route53Error::Api(e.to_string()))?;
    let batch = ChangeBatch::builder()
        .comment("paved teardown")
        .changes(change)
        .build()
        .map_err(|e| Route53Error::Api(e.to_string()))?;
    client
        .change_resource_record_sets()
        .hosted_zone_id(id)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| {
            Route53Error::Api(describe_error(
                &format!(
                    "delete the {} record of {}",
                    record.set_identifier().unwrap_or("?"),
                    record.name()
                ),
                &e,
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
                Route53Error::Api(describe_error(&format!("read records of {start}"), &e))
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

/// Every hosted zone of the account: name (with the final dot) to id.
pub async fn zones(client: &Client) -> Result<Vec<(String, String)>, Route53Error> {
    let mut out = Vec::new();
    let mut pages = client.list_hosted_zones().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Route53Error::Api(describe_error("list hosted zones", &e)))?;
        out.extend(page.hosted_zones().iter().map(|z| {
            (
                fqdn(z.name()),
                z.id().trim_start_matches("/hostedzone/").to_string(),
            )
        }));
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
            Route53Error::Api(describe_error(
                &format!("read the records of zone {zone_id}"),
                &e,
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

/// A weighted CNAME of one color.
pub fn weighted_cname(
    name: &str,
    color: Color,
    weight: i64,
    target: &str,
    ttl: i64,
) -> Result<ResourceRecordSet, Route53Error> {
    ResourceRecordSet::builder()
        .name(fqdn(name))
        .r#type(RrType::Cname)
        .set_identifier(color.as_str())
        .weight(weight)
        .ttl(ttl)
        .resource_records(
            ResourceRecord::builder()
                .value(target)
                .build()
                .map_err(|e| Route53Error::Api(e.to_string()))?,
        )
        .build()
        .map_err(|e| Route53Error::Api(e.to_string()))
}

/// The ownership record for `app` at `name`.
pub fn owner_txt(name: &str, app: &str, ttl: i64) -> Result<ResourceRecordSet, Route53Error> {
    ResourceRecordSet::builder()
        .name(owner_record_name(name))
        .r#type(RrType::Txt)
        .ttl(ttl)
        .resource_records(
            ResourceRecord::builder()
                .value(owner_value(app))
                .build()
                .map_err(|e| Route53Error::Api(e.to_string()))?,
        )
        .build()
        .map_err(|e| Route53Error::Api(e.to_string()))
}

pub fn change(action: ChangeAction, record: ResourceRecordSet) -> Result<Change, Route53Error> {
    Change::builder()
        .action(action)
        .resource_record_set(record)
        .build()
        .map_err(|e| Route53Error::Api(e.to_string()))
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
        .map_err(|e| Route53Error::Api(e.to_string()))?;
    let mut delay = Duration::from_millis(500);
    for attempt in 1.. {
        match client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch.clone())
            .send()
            .await
        {
            Ok(out) => {
                return Ok(out
                    .change_info()
                    .map(|c| c.id().to_string())
                    .unwrap_or_default());
            }
            Err(e) if e.code() == Some("PriorRequestNotComplete") && attempt < 8 => {
                tracing::info!(
                    "Route53 is still applying an earlier change; retrying in {}ms",
                    delay.as_millis()
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            Err(e) if e.code() == Some("InvalidChangeBatch") => {
                return Err(Route53Error::Conflict(format!(
                    "{}: the records changed since they were read (another deploy or controller?); nothing was changed",
                    describe_error("Route53 refused the change", &e)
                )));
            }
            Err(e) => return Err(Route53Error::Api(describe_error("change records", &e))),
        }
    }
    unreachable!("the loop returns")
}

/// Poll GetChange every `interval` until INSYNC.
pub async fn wait_insync(
    client: &Client,
    change_id: &str,
    interval: Duration,
    timeout: Duration,
) -> Result<(), Route53Error> {
    let start = Instant::now();
    loop {
        let out = client
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(|e| {
                Route53Error::Api(describe_error(&format!("get change {change_id}"), &e))
            })?;
        if out.change_info().map(|c| c.status()) == Some(&ChangeStatus::Insync) {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(Route53Error::TimedOut(format!(
                "change {change_id} still PENDING after {}s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(interval).await;
    }
}
