//! `paved token` and `paved kubeconfig`: EKS credentials for kubectl, signed by paved, for one
//! app's clusters or every paved cluster.

use std::path::PathBuf;
use std::time::SystemTime;

use aws_sdk_eks::types::Cluster;
use serde_json::{Value, json};

use crate::aws::eks::{self, tags};
use crate::aws::{AwsArgs, eks_token};
use crate::plan::{Color, cluster_name};
use crate::spec;

use super::StepError;

/// Print an ExecCredential for a cluster (the kubeconfig's exec plugin calls this).
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// The EKS cluster name, e.g. hello-blue
    pub cluster: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Write a kubeconfig with one context per cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct KubeconfigArgs {
    /// The app (a kubeapp.yaml or .star, its directory, or a name under apps/); omit with --all
    #[arg(required_unless_present = "all")]
    pub app: Option<String>,
    /// Only this color's cluster
    #[arg(long)]
    pub color: Option<Color>,
    /// Every paved cluster in the regions of the apps under apps/ (and --region)
    #[arg(long, conflicts_with = "app")]
    pub all: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Write here instead of standard output
    #[arg(long, short)]
    pub file: Option<PathBuf>,
}

async fn token(args: &TokenArgs) -> Result<Value, StepError> {
    // A token names a cluster, not an app: with no spec to say, the environment's region is
    // the one (the kubeconfig paved writes passes --region).
    let region = args
        .aws
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .ok_or_else(|| StepError::BadInput("--region (or AWS_REGION) is needed".into()))?;
    let sdk = args.aws.sdk_config(&region).await;
    let creds = crate::aws::credentials(&sdk)
        .await
        .map_err(StepError::failed)?;
    let t = eks_token::token(&args.cluster, &region, creds, SystemTime::now())
        .map_err(StepError::failed)?;
    Ok(eks_token::exec_credential(&t))
}

pub fn execute_token(args: TokenArgs) -> u8 {
    super::block_on("token", token(&args), |ec| {
        println!("{ec}");
        crate::exit::OK
    })
}

/// A context for one cluster, its user running `paved token`.
fn entry(cluster: &Cluster, region: &str) -> (Value, Value, Value) {
    let name = cluster.name().unwrap_or_default();
    let mut cluster_entry = json!({ "server": cluster.endpoint().unwrap_or_default() });
    if let Some(ca) = cluster.certificate_authority().and_then(|c| c.data()) {
        cluster_entry["certificate-authority-data"] = json!(ca);
    }
    (
        json!({ "name": name, "cluster": cluster_entry }),
        json!({ "name": name, "user": { "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "paved",
            "args": ["token", name, "--region", region],
            "interactiveMode": "Never",
            "provideClusterInfo": false,
        } } }),
        json!({ "name": name, "context": { "cluster": name, "user": name } }),
    )
}

/// The kubeconfig document for these clusters.
pub fn kubeconfig(clusters: &[(Cluster, String)]) -> Value {
    let (mut c, mut u, mut x) = (Vec::new(), Vec::new(), Vec::new());
    for (cluster, region) in clusters {
        let (a, b, d) = entry(cluster, region);
        c.push(a);
        u.push(b);
        x.push(d);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": c,
        "users": u,
        "contexts": x,
        "current-context": clusters.first().and_then(|(c, _)| c.name()).unwrap_or_default(),
    })
}

async fn collect(args: &KubeconfigArgs) -> Result<Vec<(Cluster, String)>, StepError> {
    let mut found = Vec::new();
    if let Some(app) = &args.app {
        let loaded = spec::load(app)?;
        let region = args
            .aws
            .region
            .clone()
            .unwrap_or_else(|| loaded.spec.cluster.region.clone());
        let sdk = args.aws.sdk_config(&region).await;
        let client = aws_sdk_eks::Client::new(&sdk);
        let colors = args
            .color
            .map_or(vec![Color::Blue, Color::Green], |c| vec![c]);
        for color in colors {
            if let Some(c) = eks::describe_cluster(&client, &cluster_name(&loaded.spec.name, color))
                .await
                .map_err(StepError::failed)?
            {
                found.push((c, region.clone()));
            }
        }
        if found.is_empty() {
            return Err(StepError::Failed(format!(
                "{} has no cluster yet",
                loaded.spec.name
            )));
        }
        return Ok(found);
    }
    let mut regions: Vec<String> = spec_regions();
    regions.extend(args.aws.region.clone());
    regions.sort();
    regions.dedup();
    for region in regions {
        let sdk = args.aws.sdk_config(&region).await;
        let client = aws_sdk_eks::Client::new(&sdk);
        let mut pages = client.list_clusters().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                StepError::Failed(crate::aws::describe_error(
                    &format!("list clusters in {region}"),
                    &e,
                ))
            })?;
            for name in page.clusters() {
                if let Some(c) = eks::describe_cluster(&client, name)
                    .await
                    .map_err(StepError::failed)?
                    && c.tags().is_some_and(|t| t.contains_key(tags::APP))
                {
                    found.push((c, region.clone()));
                }
            }
        }
    }
    Ok(found)
}

/// Regions named by the specs under apps/.
fn spec_regions() -> Vec<String> {
    std::fs::read_dir("apps")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| spec::load_file(&e.path().join(spec::SPEC_FILE)).ok())
        .map(|l| l.spec.cluster.region)
        .collect()
}

pub fn execute_kubeconfig(args: KubeconfigArgs) -> u8 {
    super::block_on("kubeconfig", collect(&args), |clusters| {
        let doc = crate::spec::yaml::value_to_string(&kubeconfig(&clusters)).unwrap_or_default();
        match &args.file {
            None => {
                print!("{doc}");
                crate::exit::OK
            }
            Some(path) => match std::fs::write(path, doc) {
                Ok(()) => {
                    let names: Vec<&str> = clusters.iter().filter_map(|(c, _)| c.name()).collect();
                    eprintln!(
                        "wrote {} with contexts {}",
                        path.display(),
                        names.join(", ")
                    );
                    crate::exit::OK
                }
                Err(e) => {
                    eprintln!("error: kubeconfig: cannot write {}: {e}", path.display());
                    crate::exit::FAILED
                }
            },
        }
    })
}
