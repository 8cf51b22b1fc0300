//! Talking to an app's Kubernetes API server: a client from the EKS cluster (endpoint, CA and a
//! token signed here), and the deletion of load-balanced Services before a teardown.

pub mod apply;
pub mod eks_auth;
pub mod wait;

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_eks::types::Cluster;
use base64::Engine;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, ListParams};
use kube::runtime::watcher;
use paved_wait::{Poll, WaitError, WaitOptions};

/// Errors reaching or using the API server.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The cluster has no endpoint or CA yet, or they are malformed.
    #[error("{0}")]
    Connection(String),
    /// The API server refused or could not be reached.
    #[error("Kubernetes API: {0}")]
    Api(#[from] kube::Error),
    /// Something did not finish in time.
    #[error("{0}")]
    TimedOut(String),
}

impl KubeError {
    /// A wait's end as a KubeError: its own error, or the timeout naming what was waited for.
    pub fn from_wait(e: WaitError<KubeError>) -> KubeError {
        match e {
            WaitError::Failed(e) => e,
            timed_out => KubeError::TimedOut(timed_out.to_string()),
        }
    }
}

/// A client for an EKS cluster, authenticated with tokens signed from `credentials`, a new one
/// before each expires (`eks_auth`). `endpoint` replaces the cluster's own (a tunnel, a proxy,
/// or a test server).
pub fn eks_client(
    cluster: &Cluster,
    region: &str,
    credentials: SharedCredentialsProvider,
    endpoint: Option<&str>,
) -> Result<kube::Client, KubeError> {
    let name = cluster.name().unwrap_or_default();
    let url = endpoint
        .or(cluster.endpoint())
        .ok_or_else(|| KubeError::Connection(format!("cluster {name} has no endpoint yet")))?;
    let uri: http::Uri = url
        .parse()
        .map_err(|e| KubeError::Connection(format!("endpoint {url}: {e}")))?;
    let mut config = kube::Config::new(uri);
    if let Some(ca) = cluster.certificate_authority().and_then(|c| c.data()) {
        let pem = base64::engine::general_purpose::STANDARD
            .decode(ca)
            .map_err(|e| KubeError::Connection(format!("cluster {name}: CA is not base64: {e}")))?;
        config.root_cert = Some(pem_to_der(&pem));
    }
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(60));
    let tokens = eks_auth::TokenSource::new(name, region, credentials);
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&eks_auth::EksAuthLayer(tokens))
        .build())
}

/// The DER certificates inside a PEM bundle.
fn pem_to_der(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut body = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE") {
            inside = true;
            body.clear();
        } else if line.starts_with("-----END CERTIFICATE") {
            inside = false;
            if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.trim()) {
                out.push(der);
            }
        } else if inside {
            body.push_str(line.trim());
        }
    }
    out
}

/// Delete every Service of type LoadBalancer that carries the app's ownership label, and wait
/// until the API server no longer has them (the load balancer controller removes its finalizer
/// once the ELB is gone). Returns `namespace/name` of each.
pub async fn delete_load_balancers(
    client: &kube::Client,
    app: &str,
    timeout: Duration,
) -> Result<Vec<String>, KubeError> {
    let services: Api<Service> = Api::all(client.clone());
    let selector = format!("{}={app}", paved_core::render::APP_LABEL);
    let listed = services
        .list(&ListParams::default().labels(&selector))
        .await?;
    let mut deleted = Vec::new();
    for svc in listed.items {
        let is_lb = svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
        let (Some(ns), Some(name)) = (svc.metadata.namespace.clone(), svc.metadata.name.clone())
        else {
            continue;
        };
        if !is_lb {
            continue;
        }
        let api: Api<Service> = Api::namespaced(client.clone(), &ns);
        match api.delete(&name, &DeleteParams::foreground()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!("deleting Service {ns}/{name} and its load balancer");
        deleted.push(format!("{ns}/{name}"));
    }
    // The load balancer controller removes its finalizer once the ELB is gone.
    let changes = wait::Changes::new(
        services.clone(),
        watcher::Config::default().labels(&selector),
    );
    paved_wait::wait_for_change(
        "load-balanced Services to go",
        WaitOptions::new(Duration::from_secs(5), timeout),
        || async {
            let left = services
                .list(&ListParams::default().labels(&selector))
                .await?;
            let remaining: Vec<String> = left
                .items
                .iter()
                .filter(|s| {
                    s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer")
                })
                .filter_map(|s| {
                    Some(format!(
                        "{}/{}",
                        s.metadata.namespace.as_deref()?,
                        s.metadata.name.as_deref()?
                    ))
                })
                .collect();
            Ok(if remaining.is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending(format!("still there: {}", remaining.join(", ")))
            })
        },
        |window| changes.within(window),
    )
    .await
    .map_err(KubeError::from_wait)?;
    Ok(deleted)
}

/// The API server to reach for one color, among `--kube-endpoint` values (`<color>=<url>` or a
/// bare URL for any color): a tunnel or proxy in front of the cluster's own EKS endpoint.
pub fn endpoint_for(endpoints: &[String], color: &str) -> Option<String> {
    endpoint_named(endpoints, &[color])
}

/// The first of `names` (a cluster's name, then its color) an endpoint is given for, else the
/// bare URL. A name has no `:` or `/`, so a bare URL with `=` in its query stays bare.
pub fn endpoint_named(endpoints: &[String], names: &[&str]) -> Option<String> {
    fn named(e: &str) -> Option<(&str, &str)> {
        e.split_once('=')
            .filter(|(name, _)| !name.contains([':', '/']))
    }
    names
        .iter()
        .find_map(|want| {
            endpoints
                .iter()
                .filter_map(|e| named(e))
                .find_map(|(name, url)| (name == *want).then_some(url))
        })
        .or_else(|| {
            endpoints
                .iter()
                .find(|e| named(e).is_none())
                .map(String::as_str)
        })
        .map(String::from)
}

#[cfg(test)]
mod endpoints {
    use super::endpoint_for;

    #[test]
    fn a_colors_own_endpoint_wins_over_a_bare_one() {
        let list = vec!["http://any".to_string(), "green=http://g".to_string()];
        assert_eq!(endpoint_for(&list, "green").as_deref(), Some("http://g"));
        assert_eq!(endpoint_for(&list, "blue").as_deref(), Some("http://any"));
        assert_eq!(endpoint_for(&["green=http://g".to_string()], "blue"), None);
    }

    #[test]
    fn a_clusters_own_endpoint_wins_over_its_colors() {
        let list = ["blue=http://b", "hello-blue=http://hb", "http://any?x=1"].map(String::from);
        let found = |names: &[&str]| super::endpoint_named(&list, names);
        assert_eq!(found(&["hello-blue", "blue"]).as_deref(), Some("http://hb"));
        assert_eq!(found(&["other-blue", "blue"]).as_deref(), Some("http://b"));
        assert_eq!(
            found(&["x-green", "green"]).as_deref(),
            Some("http://any?x=1")
        );
    }
}
