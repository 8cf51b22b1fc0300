//! Route53: reading the app's weighted records (one per color). Writing them is switch-traffic's.

use aws_sdk_route53::Client;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};

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

/// The blue/green weighted records of `name` in the zone, of any type (A alias or CNAME).
pub async fn weighted_records(
    client: &Client,
    zone_id: &str,
    name: &str,
) -> Result<Vec<WeightedRecord>, Route53Error> {
    let wanted = fqdn(name);
    let out = client
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(&wanted)
        .max_items(20)
        .send()
        .await
        .map_err(|e| Route53Error::Api(describe_error(&format!("read records of {name}"), &e)))?;
    Ok(out
        .resource_record_sets()
        .iter()
        .filter(|r| {
            fqdn(r.name()) == wanted
                && matches!(r.r#type(), RrType::A | RrType::Aaaa | RrType::Cname)
        })
        .filter_map(|r| {
            let color = r.set_identifier()?.parse::<Color>().ok()?;
            Some(WeightedRecord {
                color,
                weight: r.weight().unwrap_or(0),
                record: r.clone(),
            })
        })
        .collect())
}

/// The weight of each color, for an app with DNS; `None` when the app has no records yet.
pub async fn weights(
    client: &Client,
    zone: &str,
    name: &str,
) -> Result<Vec<WeightedRecord>, Route53Error> {
    let id = zone_id(client, zone).await?;
    weighted_records(client, &id, name).await
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
