//! `paved deploy --all --waves 1,10%,50%,100%`: a platform change rolled over the fleet app by
//! app, wave after wave. Each wave starts only when every deploy of the one before it verified;
//! the first wave with a failure is the last one run, and the report says which apps are where.
//!
//! Resumable without state of its own: an app is at the target when `paved status` finds no
//! drift (its serving cluster carries the spec's cluster and objects hashes and was verified
//! with the image its inputs build), so a re-run skips those and goes on with the rest. The
//! waves are cut from the whole (sorted) set of apps, not from what is left, so a re-run puts
//! every app in the wave it had.

use std::collections::BTreeMap;
use std::path::PathBuf;

use futures::StreamExt;
use serde::Serialize;

use super::deploy;
use super::status::{self, AppStatus};
use super::{Output, StepError};
use crate::spec::LoadedApp;

/// One wave's size: a count of apps, or a share of the fleet, counted from the first app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Apps(usize),
    Percent(u8),
}

impl Reach {
    /// How many apps of `fleet` the waves up to this one hold.
    fn cumulative(self, fleet: usize) -> usize {
        match self {
            Reach::Apps(n) => n.min(fleet),
            // Rounded up: 10% of 5 apps is one app, never none.
            Reach::Percent(p) => (fleet * usize::from(p)).div_ceil(100),
        }
    }
}

/// The waves of a fleet deploy, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waves(pub Vec<Reach>);

impl Default for Waves {
    /// One wave of every app.
    fn default() -> Self {
        Waves(vec![Reach::Percent(100)])
    }
}

/// Parse `--waves`: counts and percentages, each reaching at least as far as the one before.
pub fn parse_waves(text: &str) -> Result<Waves, String> {
    let mut waves = Vec::new();
    for part in text.split(',').map(str::trim) {
        let reach = match part.strip_suffix('%') {
            Some(p) => match p.parse::<u8>() {
                Ok(p @ 1..=100) => Reach::Percent(p),
                _ => return Err(format!("`{part}`: a share is 1% to 100%")),
            },
            None => match part.parse::<usize>() {
                Ok(n @ 1..) => Reach::Apps(n),
                _ => {
                    return Err(format!(
                        "`{part}`: a wave is a number of apps (1, 5) or a share of them (10%, 100%)"
                    ));
                }
            },
        };
        // A count and a share cannot be compared without the fleet's size; two of a kind can.
        if let Some(&before) = waves.last() {
            let shrinks = match (before, reach) {
                (Reach::Apps(a), Reach::Apps(b)) => b < a,
                (Reach::Percent(a), Reach::Percent(b)) => b < a,
                _ => false,
            };
            if shrinks {
                return Err(format!(
                    "`{part}` reaches fewer apps than the wave before it: waves count from the \
                     first app (1,10%,50%,100%)"
                ));
            }
        }
        waves.push(reach);
    }
    Ok(Waves(waves))
}

/// The fleet flags of `paved deploy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct FleetArgs {
    /// Deploy every app under --apps-dir, in waves
    #[arg(long, conflicts_with_all = ["app", "image"])]
    pub all: bool,
    /// Where --all finds the apps (<dir>/*/kubeapp.yaml)
    #[arg(long, default_value = "apps", requires = "all")]
    pub apps_dir: PathBuf,
    /// How far each wave reaches, counted from the first app (by name): numbers of apps and
    /// shares of them, e.g. 1,10%,50%,100%. A wave starts when every deploy of the one
    /// before it verified; apps past the last wave are left for a later run
    #[arg(long, default_value = "100%", requires = "all", value_parser = parse_waves)]
    pub waves: Waves,
    /// How many deploys of a wave run at once
    #[arg(long, default_value_t = 4, requires = "all", value_parser = clap::value_parser!(u16).range(1..=32))]
    pub parallel: u16,
    /// Print the waves, and which apps each would deploy, without deploying
    #[arg(long, requires = "all")]
    pub dry_run: bool,
}

/// Where one app is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "detail")]
pub enum AppState {
    /// Nothing to do: what runs is what the spec and the inputs make.
    AtTarget,
    /// To deploy (why: the drift status found).
    Pending(Vec<String>),
    /// Deployed by this run (strategy, color, image).
    Deployed(String),
    /// Its deploy failed (the error).
    Failed(String),
    /// Its wave was not reached: an earlier one failed.
    NotStarted,
    /// Past the last wave.
    Left,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppInWave {
    pub app: String,
    #[serde(flatten)]
    pub state: AppState,
}

#[derive(Debug, Clone, Serialize)]
pub struct Wave {
    pub wave: usize,
    pub apps: Vec<AppInWave>,
}

/// What a fleet deploy did, wave by wave.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    pub waves: Vec<Wave>,
    /// The wave that failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<usize>,
    /// Apps past the last wave.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left: Vec<String>,
    pub dry_run: bool,
}

impl Rollout {
    pub fn failed(&self) -> bool {
        self.stopped_at.is_some()
    }
}

/// Cut the sorted apps into waves; apps past the last wave are returned apart.
pub fn cut<T: Clone>(apps: &[T], waves: &[Reach]) -> (Vec<Vec<T>>, Vec<T>) {
    let mut cut = Vec::new();
    let mut from = 0;
    for reach in waves {
        let to = reach.cumulative(apps.len()).max(from);
        if to > from {
            cut.push(apps[from..to].to_vec());
        }
        from = to;
    }
    (cut, apps[from..].to_vec())
}

/// Where an app stands, from its status: at the target only when nothing drifted and
/// everything could be read.
fn state_of(status: Option<&AppStatus>) -> AppState {
    match status {
        Some(s) if s.drift.is_empty() && s.errors.is_empty() => AppState::AtTarget,
        Some(s) => AppState::Pending(s.drift.iter().chain(&s.errors).cloned().collect()),
        None => AppState::Pending(vec!["not read".into()]),
    }
}

pub async fn run(args: &deploy::Args) -> Result<Rollout, StepError> {
    let fleet = &args.fleet;
    let mut apps: Vec<LoadedApp> = status::load_apps(&[], true, &fleet.apps_dir)?;
    if apps.is_empty() {
        return Err(StepError::BadInput(format!(
            "no apps under {} (<dir>/*/kubeapp.yaml or kubeapp.star): give --apps-dir",
            fleet.apps_dir.display()
        )));
    }
    apps.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    let read = status::run(&status::Args {
        apps: apps.iter().map(|a| a.address.clone()).collect(),
        all: false,
        apps_dir: fleet.apps_dir.clone(),
        aws: args.aws.clone(),
        stage: None,
        parallel: 8,
        route53_rate: 4,
        registry: args.registry.clone(),
        output: Output::Json,
    })
    .await?;
    let statuses: BTreeMap<&str, &AppStatus> =
        read.apps.iter().map(|s| (s.app.as_str(), s)).collect();
    let (waves, left) = cut(&apps, &fleet.waves.0);
    let mut rollout = Rollout {
        left: left.iter().map(|a| a.spec.name.clone()).collect(),
        dry_run: fleet.dry_run,
        ..Rollout::default()
    };
    for (index, members) in waves.iter().enumerate() {
        let number = index + 1;
        let mut wave = Wave {
            wave: number,
            apps: members
                .iter()
                .map(|a| AppInWave {
                    app: a.spec.name.clone(),
                    state: state_of(statuses.get(a.spec.name.as_str()).copied()),
                })
                .collect(),
        };
        if fleet.dry_run {
            rollout.waves.push(wave);
            continue;
        }
        if rollout.stopped_at.is_some() {
            for a in &mut wave.apps {
                if matches!(a.state, AppState::Pending(_)) {
                    a.state = AppState::NotStarted;
                }
            }
            rollout.waves.push(wave);
            continue;
        }
        deploy_wave(args, members, &mut wave).await;
        if wave
            .apps
            .iter()
            .any(|a| matches!(a.state, AppState::Failed(_)))
        {
            rollout.stopped_at = Some(number);
        }
        rollout.waves.push(wave);
    }
    Ok(rollout)
}

/// Deploy the wave's pending apps, a few at a time; every deploy runs to its end (a failure
/// does not cut the others short: each app's own deploy keeps it safe).
async fn deploy_wave(args: &deploy::Args, members: &[LoadedApp], wave: &mut Wave) {
    let number = wave.wave;
    let pending: Vec<(usize, String)> = wave
        .apps
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a.state, AppState::Pending(_)))
        .map(|(i, _)| (i, members[i].address.clone()))
        .collect();
    eprintln!(
        "wave {number}: deploying {} of {} apps",
        pending.len(),
        wave.apps.len()
    );
    let outcomes: Vec<(usize, AppState)> = futures::stream::iter(pending)
        .map(|(i, path)| {
            let mut one = args.clone();
            one.app = path;
            one.fleet = FleetArgs::default();
            let name = wave.apps[i].app.clone();
            async move {
                let state = match deploy::run(&one).await {
                    Ok(o) => {
                        let color = o.color.map_or(String::new(), |c| format!(" on {c}"));
                        AppState::Deployed(format!("{}{color}: {}", o.strategy, o.image))
                    }
                    Err(e) => AppState::Failed(e.to_string()),
                };
                eprintln!("wave {number}: {name}: {}", describe(&state));
                (i, state)
            }
        })
        .buffer_unordered(usize::from(args.fleet.parallel))
        .collect()
        .await;
    for (i, state) in outcomes {
        wave.apps[i].state = state;
    }
}

fn describe(state: &AppState) -> String {
    match state {
        AppState::AtTarget => "at the target".into(),
        AppState::Pending(why) => format!("to deploy ({})", why.join("; ")),
        AppState::Deployed(what) => format!("deployed ({what})"),
        AppState::Failed(why) => format!("failed: {why}"),
        AppState::NotStarted => "not started: an earlier wave failed".into(),
        AppState::Left => "past the last wave".into(),
    }
}

pub fn render_text(rollout: &Rollout) -> String {
    let mut out = String::new();
    for wave in &rollout.waves {
        let apps = match wave.apps.len() {
            1 => "1 app".to_string(),
            n => format!("{n} apps"),
        };
        out.push_str(&format!("wave {} ({apps})\n", wave.wave));
        for a in &wave.apps {
            out.push_str(&format!("  {}: {}\n", a.app, describe(&a.state)));
        }
    }
    for app in &rollout.left {
        out.push_str(&format!("{app}: {}\n", describe(&AppState::Left)));
    }
    let count = |f: fn(&AppState) -> bool| {
        rollout
            .waves
            .iter()
            .flat_map(|w| &w.apps)
            .filter(|a| f(&a.state))
            .count()
    };
    out.push_str(&match (rollout.dry_run, rollout.stopped_at) {
        (true, _) => format!(
            "dry run: {} to deploy, {} at the target\n",
            count(|s| matches!(s, AppState::Pending(_))),
            count(|s| *s == AppState::AtTarget)
        ),
        (false, Some(wave)) => format!(
            "stopped at wave {wave}: {} failed, {} deployed, {} not started; fix them and run \
             again to go on (apps at the target are skipped)\n",
            count(|s| matches!(s, AppState::Failed(_))),
            count(|s| matches!(s, AppState::Deployed(_))),
            count(|s| *s == AppState::NotStarted)
        ),
        (false, None) => format!(
            "{} deployed, {} already at the target\n",
            count(|s| matches!(s, AppState::Deployed(_))),
            count(|s| *s == AppState::AtTarget)
        ),
    });
    out
}

pub fn execute(args: deploy::Args) -> u8 {
    super::block_on("deploy", run(&args), |rollout| {
        match args.output {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&rollout).unwrap_or_default()
            ),
            Output::Text => print!("{}", render_text(&rollout)),
        }
        if rollout.failed() {
            crate::exit::FAILED
        } else {
            crate::exit::OK
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_count_from_the_first_app_and_round_up() {
        let waves = parse_waves("1,10%,50%,100%").expect("waves");
        let apps: Vec<u32> = (0..20).collect();
        let (cut20, left) = cut(&apps, &waves.0);
        let sizes: Vec<usize> = cut20.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 1, 8, 10]);
        assert!(left.is_empty());
        // Three apps: 10% is already reached by the first wave, so that wave is empty and gone.
        let (cut3, _) = cut(&apps[..3], &waves.0);
        assert_eq!(cut3, [vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn apps_past_the_last_wave_are_left() {
        let waves = parse_waves("1,2").expect("waves");
        let apps = ["a", "b", "c", "d"];
        let (cut, left) = cut(&apps, &waves.0);
        assert_eq!(cut, [vec!["a"], vec!["b"]]);
        assert_eq!(left, ["c", "d"]);
    }

    #[test]
    fn the_report_says_where_each_app_is_and_what_to_do() {
        let app = |name: &str, state| AppInWave {
            app: name.into(),
            state,
        };
        let rollout = Rollout {
            waves: vec![
                Wave {
                    wave: 1,
                    apps: vec![app(
                        "a",
                        AppState::Deployed("rolling on blue: r@sha256:1".into()),
                    )],
                },
                Wave {
                    wave: 2,
                    apps: vec![
                        app("b", AppState::Failed("the plan refuses: x".into())),
                        app("c", AppState::AtTarget),
                    ],
                },
                Wave {
                    wave: 3,
                    apps: vec![app("d", AppState::NotStarted)],
                },
            ],
            stopped_at: Some(2),
            left: vec!["e".into()],
            dry_run: false,
        };
        assert_eq!(
            render_text(&rollout),
            "wave 1 (1 app)\n  a: deployed (rolling on blue: r@sha256:1)\n\
             wave 2 (2 apps)\n  b: failed: the plan refuses: x\n  c: at the target\n\
             wave 3 (1 app)\n  d: not started: an earlier wave failed\n\
             e: past the last wave\n\
             stopped at wave 2: 1 failed, 1 deployed, 1 not started; fix them and run again to \
             go on (apps at the target are skipped)\n"
        );
        let json = serde_json::to_value(&rollout).expect("json");
        assert_eq!(json["waves"][1]["apps"][0]["state"], "failed");
        assert_eq!(json["waves"][1]["apps"][0]["detail"], "the plan refuses: x");
        assert_eq!(json["stoppedAt"], 2);
    }

    #[test]
    fn bad_waves_say_what_a_wave_is() {
        for (text, says) in [
            ("0", "a wave is a number"),
            ("10%,5%", "fewer apps than the wave before"),
            ("3,1", "fewer apps than the wave before"),
            ("150%", "1% to 100%"),
            ("half", "a wave is a number"),
        ] {
            let err = parse_waves(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
