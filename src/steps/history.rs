//! `paved history <app>`: the app's deployments from GitHub's Deployments API, newest first, with
//! what each one deployed and its latest status; `paved prune-deployments` clears the old ones.

use crate::github::context::Context;
use crate::github::ledger::EnvironmentArgs;
pub use crate::github::rest::Entry;
use crate::github::rest::GitHub;
use crate::plan::table;
use crate::spec;

use super::{Output, StepError};

/// List an app's deployments.
#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    #[command(flatten)]
    pub environment: EnvironmentArgs,
    /// How to print
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// Mark old deployments inactive and delete them, keeping the newest and the active one.
#[derive(Debug, Clone, clap::Args)]
pub struct PruneArgs {
    /// The app: a kubeapp.yaml or .star, its directory, or a name under apps/
    pub app: String,
    #[command(flatten)]
    pub environment: EnvironmentArgs,
    /// How many of the newest deployments to keep
    #[arg(long, default_value_t = 20)]
    pub keep: usize,
}

/// The environment's deployments with their latest state, newest first.
pub async fn entries(gh: &GitHub, environment: &str) -> Result<Vec<Entry>, StepError> {
    gh.history(environment).await.map_err(StepError::failed)
}

fn environment(app: &str, given: &EnvironmentArgs) -> Result<String, StepError> {
    match &given.environment {
        Some(e) => Ok(e.clone()),
        None => Ok(given.name(&spec::load(app)?.spec.name)),
    }
}

pub async fn history(args: &HistoryArgs) -> Result<Vec<Entry>, StepError> {
    let env = environment(&args.app, &args.environment)?;
    // No token or repository is the caller's to fix.
    let gh = GitHub::new(&Context::from_env()).map_err(|e| StepError::BadInput(e.to_string()))?;
    entries(&gh, &env).await
}

/// Which deployments a prune removes: all but the newest `keep` and the active one (the newest
/// whose latest status is success).
pub fn to_prune(entries: &[Entry], keep: usize) -> Vec<u64> {
    let active = entries.iter().find(|e| e.state == "success").map(|e| e.id);
    entries
        .iter()
        .skip(keep)
        .filter(|e| Some(e.id) != active)
        .map(|e| e.id)
        .collect()
}

pub async fn prune(args: &PruneArgs) -> Result<Vec<u64>, StepError> {
    let env = environment(&args.app, &args.environment)?;
    let gh = GitHub::new(&Context::from_env()).map_err(|e| StepError::BadInput(e.to_string()))?;
    prune_environment(&gh, &env, args.keep).await
}

/// Prune one environment: each deployment removed is first marked inactive (GitHub refuses to
/// delete an active one).
pub async fn prune_environment(gh: &GitHub, env: &str, keep: usize) -> Result<Vec<u64>, StepError> {
    let all = entries(gh, env).await?;
    let victims = to_prune(&all, keep);
    for id in &victims {
        gh.create_status(*id, "inactive", "pruned by paved", None, None)
            .await
            .map_err(StepError::failed)?;
        gh.delete_deployment(*id).await.map_err(StepError::failed)?;
    }
    Ok(victims)
}

fn short(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

pub fn execute_history(args: HistoryArgs) -> u8 {
    super::block_on("history", history(&args), |list| {
        match args.output {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            ),
            Output::Text => {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|e| {
                        let digest = e.payload["digest"]
                            .as_str()
                            .or_else(|| {
                                e.payload["image"]
                                    .as_str()
                                    .and_then(|i| i.rsplit('@').next())
                            })
                            .unwrap_or("-");
                        vec![
                            e.id.to_string(),
                            crate::timestamp::rfc3339(e.created_at),
                            short(&e.sha, 7),
                            e.payload["color"].as_str().unwrap_or("-").to_string(),
                            e.payload["strategy"].as_str().unwrap_or("-").to_string(),
                            short(digest, 19),
                            e.state.clone(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &[
                            "ID", "CREATED", "COMMIT", "COLOR", "STRATEGY", "DIGEST", "STATE"
                        ],
                        &rows
                    )
                );
            }
        }
        crate::exit::OK
    })
}

pub fn execute_prune(args: PruneArgs) -> u8 {
    super::block_on("prune-deployments", prune(&args), |ids| {
        println!("pruned {} deployments", ids.len());
        crate::exit::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn entry(id: u64, created: &str, state: &str) -> Entry {
        Entry {
            id,
            created_at: time::OffsetDateTime::parse(
                &format!("{created}-01T00:00:00Z"),
                &time::format_description::well_known::Rfc3339,
            )
            .expect("a timestamp"),
            sha: String::new(),
            state: state.into(),
            payload: Value::Null,
        }
    }

    #[test]
    fn prune_keeps_the_newest_and_the_active_one() {
        // Newest first: the two newest failed, the active one is older than `keep`.
        let list = vec![
            entry(5, "2026-05", "failure"),
            entry(4, "2026-04", "failure"),
            entry(3, "2026-03", "success"),
            entry(2, "2026-02", "inactive"),
            entry(1, "2026-01", "inactive"),
        ];
        assert_eq!(to_prune(&list, 2), vec![2, 1]);
        assert_eq!(to_prune(&list, 0), vec![5, 4, 2, 1]);
        assert!(to_prune(&list, 10).is_empty());
    }
}
