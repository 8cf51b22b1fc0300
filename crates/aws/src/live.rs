//! Reading an app's live state from AWS: its clusters (with their cluster-hash tags and, when
//! asked, their identity rebuilt from EKS) and its DNS weights. AWS is the database.

use aws_sdk_eks::types::Cluster;

use crate::eks::{self, EksError, tags};
use crate::route53::{self, Route53Error, WeightedRecord};
use paved_core::plan::{Color, Live, LiveCluster};
use paved_core::spec::KubeApp;

/// Errors reading live state.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Eks(#[from] EksError),
    #[error(transparent)]
    Route53(#[from] Route53Error),
}

/// What was read, kept whole for the steps that act on it.
#[derive(Debug, Clone)]
pub struct LiveApp {
    pub clusters: Vec<(Color, Cluster)>,
    pub records: Vec<WeightedRecord>,
    pub live: Live,
}

impl LiveApp {
    pub fn cluster(&self, color: Color) -> Option<&Cluster> {
        self.clusters
            .iter()
            .find(|(c, _)| *c == color)
            .map(|(_, cl)| cl)
    }

    /// The color that serves: the one with most weight, or the only cluster of an app without
    /// DNS.
    pub fn serving(&self, app: &KubeApp) -> Option<Color> {
        if app.dns.is_none() {
            return match self.clusters.as_slice() {
                [(color, _)] => Some(*color),
                _ => None,
            };
        }
        self.records
            .iter()
            .filter(|r| r.weight > 0)
            .max_by_key(|r| r.weight)
            .map(|r| r.color)
            .filter(|c| self.cluster(*c).is_some())
    }

    pub fn weight(&self, color: Color) -> Option<i64> {
        self.records
            .iter()
            .find(|r| r.color == color)
            .map(|r| r.weight)
    }
}

/// Read the app's clusters and weights. With `explain`, each cluster's nodegroups are described
/// too, so that a changed cluster hash can be explained field by field.
pub async fn read(
    eks_client: &aws_sdk_eks::Client,
    r53: Option<&aws_sdk_route53::Client>,
    app: &KubeApp,
    explain: bool,
) -> Result<LiveApp, LiveError> {
    let clusters = eks::app_clusters(eks_client, &app.name).await?;
    let records = match (&app.dns, r53) {
        (Some(dns), Some(client)) => route53::weights(client, dns).await?,
        _ => Vec::new(),
    };
    let mut identities = Vec::new();
    if explain {
        for (_, cluster) in &clusters {
            let ngs =
                eks::describe_nodegroups(eks_client, cluster.name().unwrap_or_default()).await?;
            identities.push(eks::live_identity(cluster, &ngs));
        }
    }
    Ok(LiveApp::assemble(clusters, records, identities))
}

impl LiveApp {
    /// The state from what was read; `identities` (one per cluster, in order) when described.
    pub fn assemble(
        clusters: Vec<(Color, Cluster)>,
        records: Vec<WeightedRecord>,
        identities: Vec<serde_json::Value>,
    ) -> LiveApp {
        let mut identities = identities.into_iter();
        let live_clusters = clusters
            .iter()
            .map(|(color, cluster)| LiveCluster {
                color: *color,
                cluster_hash: cluster
                    .tags()
                    .and_then(|t| t.get(tags::CLUSTER_HASH))
                    .cloned(),
                identity: identities.next(),
                weight: records
                    .iter()
                    .find(|r| r.color == *color)
                    .map(|r| u32::try_from(r.weight.max(0)).unwrap_or(u32::MAX)),
            })
            .collect();
        LiveApp {
            clusters,
            records,
            live: Live::Known {
                clusters: live_clusters,
            },
        }
    }
}
