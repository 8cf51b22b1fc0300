//! The strategy decision: desired cluster hash + live state -> rolling | blue-green, with the
//! reason. Pure, so every branch is unit-tested.

use serde::{Deserialize, Serialize};

pub use crate::names::{Color, cluster_name};

use crate::hash::{identity_diff, short};
use crate::spec::StrategyPreference;

/// One of the app's clusters as found in AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveCluster {
    pub color: Color,
    /// The `paved.dev/cluster-hash` tag, if the cluster has one.
    pub cluster_hash: Option<String>,
    /// Its cluster identity rebuilt from AWS, when known, to explain a hash change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<serde_json::Value>,
    /// Its Route53 weight; `None` when the app has no record for this color.
    pub weight: Option<u32>,
}

/// What is known of the app's live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Live {
    /// Not read (offline plan).
    Unknown,
    Known {
        clusters: Vec<LiveCluster>,
    },
}

/// What the deploy will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "kebab-case")]
pub enum Decision {
    /// Update the objects on the live cluster in place.
    Rolling { color: Color, reason: String },
    /// Create (or adopt) the cluster of `color`, verify it, move traffic, tear down `replaces`.
    BlueGreen {
        color: Color,
        replaces: Option<Color>,
        reason: String,
    },
    /// Live state unknown: what would decide it.
    Undecided { reason: String },
    /// The live state does not allow a deploy until someone acts.
    Refused { reason: String },
}

impl Decision {
    pub fn reason(&self) -> &str {
        match self {
            Decision::Rolling { reason, .. }
            | Decision::BlueGreen { reason, .. }
            | Decision::Undecided { reason }
            | Decision::Refused { reason } => reason,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Decision::Rolling { .. } => "rolling",
            Decision::BlueGreen { .. } => "blue-green",
            Decision::Undecided { .. } => "undecided (offline)",
            Decision::Refused { .. } => "refused",
        }
    }
}

/// Decide how `app` is deployed, given the desired cluster identity and what is live.
pub fn decide(
    app: &str,
    preference: StrategyPreference,
    desired_hash: &str,
    desired_identity: Option<&serde_json::Value>,
    live: &Live,
) -> Decision {
    let clusters = match live {
        Live::Unknown => return undecided(preference, desired_hash),
        Live::Known { clusters } => clusters,
    };
    if clusters.is_empty() {
        let why = match preference {
            StrategyPreference::Rolling => {
                "strategy is rolling, but there is no cluster to update yet"
            }
            _ => "first deploy",
        };
        return Decision::BlueGreen {
            color: Color::Blue,
            replaces: None,
            reason: format!(
                "{why}: no cluster of {app} exists; creating {}",
                cluster_name(app, Color::Blue)
            ),
        };
    }
    let with_traffic: Vec<&LiveCluster> = clusters
        .iter()
        .filter(|c| c.weight.unwrap_or(0) > 0)
        .collect();
    let has_records = clusters.iter().any(|c| c.weight.is_some());
    let serving: Option<&LiveCluster> = match (with_traffic.as_slice(), has_records) {
        ([one], _) => Some(one),
        ([], false) if clusters.len() == 1 => Some(&clusters[0]),
        ([], false) => {
            return Decision::Refused {
                reason: format!(
                    "{} and {} both exist and no DNS weights say which one serves: tear down the one that should go (paved teardown {app} --color <color>)",
                    cluster_name(app, Color::Blue),
                    cluster_name(app, Color::Green)
                ),
            };
        }
        ([], true) => None,
        (many, _) => {
            let split: Vec<String> = many
                .iter()
                .map(|c| format!("{} {}", c.color, c.weight.unwrap_or(0)))
                .collect();
            return Decision::Refused {
                reason: format!(
                    "traffic is split ({}): a switch did not finish; finish or undo it with `paved switch-traffic {app} --to <color>` first",
                    split.join(" / ")
                ),
            };
        }
    };
    let matches = |c: &LiveCluster| c.cluster_hash.as_deref() == Some(desired_hash);
    let Some(serving) = serving else {
        // Clusters exist but none carries traffic: a first deploy that stopped before its switch.
        let idle = &clusters[0];
        return if matches(idle) {
            Decision::BlueGreen {
                color: idle.color,
                replaces: None,
                reason: format!(
                    "resuming: {} exists with the desired cluster hash {} and carries no traffic yet",
                    cluster_name(app, idle.color),
                    short(desired_hash)
                ),
            }
        } else {
            stale(app, idle, desired_hash)
        };
    };
    let idle = clusters.iter().find(|c| c.color != serving.color);
    let serving_name = cluster_name(app, serving.color);
    let change = change_reason(serving, desired_hash, desired_identity);
    let to_new_cluster = |why: String| -> Decision {
        let color = serving.color.other();
        match idle {
            Some(i) if !matches(i) => stale(app, i, desired_hash),
            Some(_) => Decision::BlueGreen {
                color,
                replaces: Some(serving.color),
                reason: format!(
                    "{why}; resuming with {}, which already has the desired cluster hash",
                    cluster_name(app, color)
                ),
            },
            None => Decision::BlueGreen {
                color,
                replaces: Some(serving.color),
                reason: format!(
                    "{why}; creating {} to replace {serving_name}",
                    cluster_name(app, color)
                ),
            },
        }
    };
    match (change, preference) {
        (None, StrategyPreference::BlueGreen) => to_new_cluster(format!(
            "strategy is blue-green (cluster hash {} unchanged)",
            short(desired_hash)
        )),
        (None, _) if !missing_nodegroups(serving, desired_identity).is_empty() => {
            // Killed between the cluster and its nodegroups: create-cluster adopts the cluster
            // and adds them; the traffic stays where it is.
            Decision::BlueGreen {
                color: serving.color,
                replaces: None,
                reason: format!(
                    "resuming: {serving_name} has the desired cluster hash but lacks nodegroup(s) {}",
                    missing_nodegroups(serving, desired_identity).join(", ")
                ),
            }
        }
        (None, _) => {
            let mut reason = format!(
                "cluster hash {} unchanged: rolling update of {serving_name}",
                short(desired_hash)
            );
            if let Some(i) = idle {
                reason.push_str(&format!(
                    "; {} carries no traffic and awaits teardown",
                    cluster_name(app, i.color)
                ));
            }
            Decision::Rolling {
                color: serving.color,
                reason,
            }
        }
        (Some(what), StrategyPreference::Rolling) => Decision::Refused {
            reason: format!(
                "strategy is rolling, but {what}: a rolling update cannot change the cluster; set deploy.strategy to auto or blue-green"
            ),
        },
        (Some(what), _) => to_new_cluster(what),
    }
}

/// The spec's nodegroups the live cluster does not have (known only when both identities are).
fn missing_nodegroups(live: &LiveCluster, desired: Option<&serde_json::Value>) -> Vec<String> {
    let (Some(live), Some(desired)) = (&live.identity, desired) else {
        return Vec::new();
    };
    let Some(wanted) = desired["nodegroups"].as_object() else {
        return Vec::new();
    };
    wanted
        .keys()
        .filter(|name| live["nodegroups"].get(name.as_str()).is_none())
        .cloned()
        .collect()
}

fn undecided(preference: StrategyPreference, desired_hash: &str) -> Decision {
    let h = short(desired_hash);
    let reason = match preference {
        StrategyPreference::Auto => format!(
            "live state unknown (offline): rolling if the serving cluster's hash is {h}, blue-green to the other color otherwise, a new blue cluster if none exists"
        ),
        StrategyPreference::Rolling => format!(
            "live state unknown (offline): rolling onto the serving cluster, refused if its hash is not {h}"
        ),
        StrategyPreference::BlueGreen => {
            "live state unknown (offline): blue-green to the color that carries no traffic"
                .to_string()
        }
    };
    Decision::Undecided { reason }
}

/// Why the serving cluster does not match, or `None` if it does.
fn change_reason(
    serving: &LiveCluster,
    desired_hash: &str,
    desired: Option<&serde_json::Value>,
) -> Option<String> {
    match serving.cluster_hash.as_deref() {
        Some(h) if h == desired_hash => None,
        None => Some(format!("{} has no cluster-hash tag", serving.color)),
        Some(h) => {
            let details = match (serving.identity.as_ref(), desired) {
                (Some(old), Some(new)) => identity_diff(old, new),
                _ => Vec::new(),
            };
            Some(if details.is_empty() {
                format!(
                    "cluster hash changed: {} -> {}",
                    short(h),
                    short(desired_hash)
                )
            } else {
                format!("cluster hash changed: {}", details.join("; "))
            })
        }
    }
}

fn stale(app: &str, idle: &LiveCluster, desired_hash: &str) -> Decision {
    let name = cluster_name(app, idle.color);
    Decision::Refused {
        reason: format!(
            "{name} carries no traffic and has cluster hash {} instead of the desired {}: tear it down first (paved teardown {app} --color {})",
            idle.cluster_hash.as_deref().map_or("(none)", short),
            short(desired_hash),
            idle.color
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StrategyPreference::{Auto, BlueGreen as PreferBG, Rolling as PreferRolling};

    const H: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const OLD: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn cluster(color: Color, hash: &str, weight: Option<u32>) -> LiveCluster {
        LiveCluster {
            color,
            cluster_hash: Some(hash.into()),
            identity: None,
            weight,
        }
    }

    fn known(clusters: Vec<LiveCluster>) -> Live {
        Live::Known { clusters }
    }

    #[test]
    fn offline_is_undecided_for_every_preference() {
        for p in [Auto, PreferRolling, PreferBG] {
            let d = decide("hello", p, H, None, &Live::Unknown);
            assert!(matches!(d, Decision::Undecided { .. }), "{d:?}");
            assert!(d.reason().contains("offline"));
        }
    }

    #[test]
    fn a_cluster_without_its_nodegroups_is_completed_before_anything_rolls() {
        let desired = serde_json::json!({ "nodegroups": { "default": {}, "gpu": {} } });
        let mut blue = cluster(Color::Blue, H, None);
        blue.identity = Some(serde_json::json!({ "nodegroups": { "default": {} } }));
        let d = decide("hello", Auto, H, Some(&desired), &known(vec![blue.clone()]));
        assert!(
            matches!(
                d,
                Decision::BlueGreen {
                    color: Color::Blue,
                    replaces: None,
                    ..
                }
            ),
            "{d:?}"
        );
        assert!(d.reason().contains("lacks nodegroup(s) gpu"), "{d:?}");
        blue.identity = Some(desired.clone());
        let d = decide("hello", Auto, H, Some(&desired), &known(vec![blue]));
        assert!(matches!(d, Decision::Rolling { .. }), "{d:?}");
    }

    #[test]
    fn first_deploy_creates_blue() {
        for p in [Auto, PreferRolling, PreferBG] {
            let d = decide("hello", p, H, None, &known(vec![]));
            assert_eq!(
                d,
                Decision::BlueGreen {
                    color: Color::Blue,
                    replaces: None,
                    reason: d.reason().to_string()
                }
            );
            assert!(d.reason().contains("hello-blue"));
        }
    }

    #[test]
    fn unchanged_hash_rolls() {
        let d = decide(
            "hello",
            Auto,
            H,
            None,
            &known(vec![cluster(Color::Green, H, Some(100))]),
        );
        assert!(
            matches!(
                d,
                Decision::Rolling {
                    color: Color::Green,
                    ..
                }
            ),
            "{d:?}"
        );
        assert!(d.reason().contains("unchanged"));
    }

    #[test]
    fn unchanged_hash_without_dns_rolls_on_the_only_cluster() {
        let d = decide(
            "worker",
            Auto,
            H,
            None,
            &known(vec![cluster(Color::Blue, H, None)]),
        );
        assert!(
            matches!(
                d,
                Decision::Rolling {
                    color: Color::Blue,
                    ..
                }
            ),
            "{d:?}"
        );
    }

    #[test]
    fn unchanged_hash_with_blue_green_preference_makes_a_new_cluster() {
        let d = decide(
            "hello",
            PreferBG,
            H,
            None,
            &known(vec![cluster(Color::Blue, H, Some(100))]),
        );
        assert!(
            matches!(
                d,
                Decision::BlueGreen {
                    color: Color::Green,
                    replaces: Some(Color::Blue),
                    ..
                }
            ),
            "{d:?}"
        );
    }

    #[test]
    fn changed_hash_goes_blue_green_and_names_the_change() {
        let mut live = cluster(Color::Blue, OLD, Some(100));
        live.identity =
            Some(serde_json::json!({"nodegroups": {"default": {"instanceTypes": ["m6i.large"]}}}));
        let desired =
            serde_json::json!({"nodegroups": {"default": {"instanceTypes": ["m7i.large"]}}});
        let d = decide("hello", Auto, H, Some(&desired), &known(vec![live]));
        assert!(
            matches!(
                d,
                Decision::BlueGreen {
                    color: Color::Green,
                    replaces: Some(Color::Blue),
                    ..
                }
            ),
            "{d:?}"
        );
        assert!(
            d.reason()
                .contains("nodegroups.default.instanceTypes: m6i.large -> m7i.large"),
            "{}",
            d.reason()
        );
    }

    #[test]
    fn changed_hash_with_rolling_preference_is_refused() {
        let d = decide(
            "hello",
            PreferRolling,
            H,
            None,
            &known(vec![cluster(Color::Blue, OLD, Some(100))]),
        );
        assert!(matches!(d, Decision::Refused { .. }), "{d:?}");
        assert!(d.reason().contains("cannot change the cluster"));
    }

    #[test]
    fn missing_hash_tag_counts_as_a_change() {
        let mut live = cluster(Color::Blue, H, Some(100));
        live.cluster_hash = None;
        let d = decide("hello", Auto, H, None, &known(vec![live]));
        assert!(
            matches!(
                d,
                Decision::BlueGreen {
                    color: Color::Green,
                    ..
                }
            ),
            "{d:?}"
        );
        assert!(d.reason().contains("no cluster-hash tag"));
    }

    #[test]
    fn split_traffic_is_refused() {
        let d = decide(
            "hello",
            Auto,
            H,
            None,
            &known(vec![
                cluster(Color::Blue, OLD, Some(50)),
                cluster(Color::Green, H, Some(50)),
            ]),
        );
        assert!(matches!(d, Decision::Refused { .. }), "{d:?}");
        assert!(d.reason().contains("blue 50 / green 50"), "{}", d.reason());
    }

    #[test]
    fn idle_cluster_with_the_desired_hash_is_resumed() {
        let d = decide(
            "hello",
            Auto,
            H,
            None,
            &known(vec![
                cluster(Color::Blue, OLD, Some(100)),
                cluster(Color::Green, H, Some(0)),
            ]),
        );
        assert!(
            matches!(
                d,
                Decision::BlueGreen {
                    color: Color::Green,
                    replaces: Some(Color::Blue),
                    ..
                }
            ),
            "{d:?}"
        );
        assert!(d.reason().contains("resuming"));
    }

    #[test]
    fn idle_cluster_with_another_hash_is_refused() {
        let d = decide(
            "hello",
            Auto,
            H,
            None,
            &known(vec![
                cluster(Color::Blue, OLD, Some(100)),
                cluster(Color::Green, OLD, Some(0)),
            ]),
        );
        assert!(matches!(d, Decision::Refused { .. }), "{d:?}");
        assert!(
            d.reason().contains("paved teardown hello --color green"),
            "{}",
            d.reason()
        );
    }

    #[test]
    fn rolling_notes_an_idle_cluster_awaiting_teardown() {
        let d = decide(
            "hello",
            Auto,
            H,
            None,
            &known(vec![
                cluster(Color::Blue, H, Some(100)),
                cluster(Color::Green, OLD, Some(0)),
            ]),
        );
        assert!(
            matches!(
                d,
                Decision::Rolling {
                    color: Color::Blue,
                    ..
                }
            ),
            "{d:?}"
        );
        assert!(d.reason().contains("awaits teardown"));
    }

    #[test]
    fn no_traffic_anywhere_resumes_a_matching_cluster() {
        let d = decide(
            "hello",
            Auto,
            H,
            None,
            &known(vec![cluster(Color::Blue, H, Some(0))]),
        );
        assert!(
            matches!(
                d,
                Decision::BlueGreen {
                    color: Color::Blue,
                    replaces: None,
                    ..
                }
            ),
            "{d:?}"
        );
        let d = decide(
            "hello",
            Auto,
            H,
            None,
            &known(vec![cluster(Color::Blue, OLD, Some(0))]),
        );
        assert!(matches!(d, Decision::Refused { .. }), "{d:?}");
    }

    #[test]
    fn two_clusters_without_dns_are_refused() {
        let d = decide(
            "worker",
            Auto,
            H,
            None,
            &known(vec![
                cluster(Color::Blue, H, None),
                cluster(Color::Green, H, None),
            ]),
        );
        assert!(matches!(d, Decision::Refused { .. }), "{d:?}");
    }
}
