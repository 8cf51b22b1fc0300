//! Waiting on AWS with progress: poll at an interval, say what phase it is in at least every
//! `progress_every`, give up after `timeout` with a message that names the phase.

use std::future::Future;
use std::time::{Duration, Instant};

/// How a wait polls.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    pub interval: Duration,
    pub timeout: Duration,
    pub progress_every: Duration,
}

impl WaitOptions {
    /// EKS clusters take 8-15 minutes, nodegroups 2-5: poll every 15 s, report every 30 s.
    pub fn eks(timeout: Duration) -> Self {
        WaitOptions {
            interval: Duration::from_secs(15),
            timeout,
            progress_every: Duration::from_secs(30),
        }
    }
}

/// One look at the thing waited for.
pub enum Poll<T> {
    Ready(T),
    /// Not yet; the phase it is in (e.g. CREATING).
    Pending(String),
}

/// Why a wait ended without the thing.
#[derive(Debug, thiserror::Error)]
pub enum WaitError<E> {
    #[error("{what}: still {phase} after {}s", .waited.as_secs())]
    TimedOut {
        what: String,
        phase: String,
        waited: Duration,
    },
    #[error(transparent)]
    Failed(E),
}

/// Poll `check` until it is ready, fails, or the timeout passes.
pub async fn wait_for<T, E, F, Fut>(
    what: &str,
    opts: WaitOptions,
    mut check: F,
) -> Result<T, WaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
{
    let start = Instant::now();
    let mut last_report: Option<(Instant, String)> = None;
    loop {
        match check().await.map_err(WaitError::Failed)? {
            Poll::Ready(v) => {
                if last_report.is_some() {
                    tracing::info!("{what}: ready after {}s", start.elapsed().as_secs());
                }
                return Ok(v);
            }
            Poll::Pending(phase) => {
                let due = match &last_report {
                    None => true,
                    Some((at, p)) => *p != phase || at.elapsed() >= opts.progress_every,
                };
                if due {
                    tracing::info!("{what}: {phase} ({}s elapsed)", start.elapsed().as_secs());
                    last_report = Some((Instant::now(), phase.clone()));
                }
                if start.elapsed() >= opts.timeout {
                    return Err(WaitError::TimedOut {
                        what: what.into(),
                        phase,
                        waited: start.elapsed(),
                    });
                }
                tokio::time::sleep(
                    opts.interval
                        .min(opts.timeout.saturating_sub(start.elapsed())),
                )
                .await;
            }
        }
    }
}
