//! One way to wait, for every loop in paved: EKS clusters becoming ACTIVE, Route 53 changes
//! reaching INSYNC, Kubernetes objects rolling out or going away, HTTP checks passing, GitHub's
//! rate limits and Route 53's busy zones.
//!
//! - [`wait_for`] polls until a check is ready, saying which phase it is in when the phase
//!   changes and at least every `progress_every`, and gives up at a deadline with a message that
//!   names the phase. [`wait_for_change`] does the same but sleeps on a wake-up source (a watch)
//!   instead of a fixed interval.
//! - [`retry`] repeats an attempt the other side asked us to repeat (a rate limit, a busy zone),
//!   after the delay it named or a doubling backoff, a bounded number of times.
//! - [`pause`] waits out a planned delay (a DNS TTL, the hold between traffic steps) and says so
//!   when it is long enough to notice.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How a wait polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Time between two looks (the longest sleep for [`wait_for_change`]).
    pub interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
    /// Say where things stand at least this often, even when nothing changed.
    pub progress_every: Duration,
}

impl WaitOptions {
    /// Poll every `interval` for at most `timeout`, reporting every 30 s.
    pub fn new(interval: Duration, timeout: Duration) -> Self {
        WaitOptions {
            interval,
            timeout,
            progress_every: Duration::from_secs(30),
        }
    }

    /// EKS clusters take 8-15 minutes, nodegroups 2-5: poll every 15 s, report every 30 s.
    pub fn eks(timeout: Duration) -> Self {
        WaitOptions::new(Duration::from_secs(15), timeout)
    }
}

/// One look at the thing waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T> {
    Ready(T),
    /// Not yet; the phase it is in (e.g. CREATING, "2/3 pods ready").
    Pending(String),
}

/// Why a wait ended without the thing.
#[derive(Debug, thiserror::Error)]
pub enum WaitError<E> {
    /// The deadline passed; `phase` is the last one seen.
    #[error("{what}: still {phase} after {}s", .waited.as_secs())]
    TimedOut {
        what: String,
        phase: String,
        waited: Duration,
    },
    /// A look failed (the check's own error).
    #[error(transparent)]
    Failed(E),
}

impl<E> WaitError<E> {
    /// The check's error, or what to say about a timeout.
    pub fn map_failed<F>(self, f: impl FnOnce(E) -> F) -> WaitError<F> {
        match self {
            WaitError::TimedOut {
                what,
                phase,
                waited,
            } => WaitError::TimedOut {
                what,
                phase,
                waited,
            },
            WaitError::Failed(e) => WaitError::Failed(f(e)),
        }
    }
}

/// Poll `check` every `opts.interval` until it is ready, fails, or `opts.timeout` passes.
pub async fn wait_for<T, E, F, Fut>(
    what: &str,
    opts: WaitOptions,
    check: F,
) -> Result<T, WaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
{
    wait_for_change(what, opts, check, |window| async move {
        tokio::time::sleep(window).await;
        Ok(())
    })
    .await
}

/// Like [`wait_for`], but between two looks `wake(window)` decides when to look again: it returns
/// when something changed (a watch event) or when `window` (at most `opts.interval`) has passed.
pub async fn wait_for_change<T, E, F, Fut, W, WFut>(
    what: &str,
    opts: WaitOptions,
    mut check: F,
    mut wake: W,
) -> Result<T, WaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
    W: FnMut(Duration) -> WFut,
    WFut: Future<Output = Result<(), E>>,
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
                let left = opts.timeout.saturating_sub(start.elapsed());
                if left.is_zero() {
                    return Err(WaitError::TimedOut {
                        what: what.into(),
                        phase,
                        waited: start.elapsed(),
                    });
                }
                wake(opts.interval.min(left))
                    .await
                    .map_err(WaitError::Failed)?;
            }
        }
    }
}

/// How [`retry`] spaces its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt; it doubles after each.
    pub first: Duration,
    /// No wait is longer, whatever the other side asked for.
    pub max: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
}

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt<T, E> {
    Done(T),
    /// Worth another try: after `after` when the other side said how long (Retry-After),
    /// else after the backoff's delay.
    Again {
        error: E,
        after: Option<Duration>,
    },
    /// Not worth another try.
    Failed(E),
}

/// Run `attempt` until it is done, fails for good, or `backoff.attempts` are used up (then the
/// last error). `attempt` gets the attempt's number, from 1.
pub async fn retry<T, E, F, Fut>(what: &str, backoff: Backoff, mut attempt: F) -> Result<T, E>
where
    E: Display,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
{
    let mut delay = backoff.first;
    let mut n = 1;
    loop {
        match attempt(n).await {
            Attempt::Done(v) => return Ok(v),
            Attempt::Failed(e) => return Err(e),
            Attempt::Again { error, .. } if n >= backoff.attempts => return Err(error),
            Attempt::Again { error, after } => {
                let wait = after.unwrap_or(delay).min(backoff.max);
                tracing::info!(
                    "{what}: {error}; trying again in {} (attempt {} of {})",
                    seconds(wait),
                    n + 1,
                    backoff.attempts
                );
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(backoff.max);
                n += 1;
            }
        }
    }
}

/// Waits shorter than this pass without a word.
const QUIET_PAUSE: Duration = Duration::from_secs(5);

/// Wait out a planned delay (`why` says what for: "the TTL of hello.example.com").
pub async fn pause(why: &str, length: Duration) {
    if length >= QUIET_PAUSE {
        tracing::info!("waiting {} for {why}", seconds(length));
    }
    tokio::time::sleep(length).await;
}

fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_when_ready_and_times_out_naming_the_phase() {
        let looks = Cell::new(0);
        let ready = wait_for(
            "cluster",
            WaitOptions::new(Duration::from_secs(15), Duration::from_secs(600)),
            || async {
                looks.set(looks.get() + 1);
                Ok::<_, String>(if looks.get() == 3 {
                    Poll::Ready("ACTIVE")
                } else {
                    Poll::Pending("CREATING".into())
                })
            },
        )
        .await
        .expect("ready");
        assert_eq!((ready, looks.get()), ("ACTIVE", 3));

        let started = tokio::time::Instant::now();
        let e = wait_for(
            "cluster hello-blue",
            WaitOptions::new(Duration::from_secs(15), Duration::from_secs(40)),
            || async { Ok::<Poll<()>, String>(Poll::Pending("CREATING".into())) },
        )
        .await
        .expect_err("times out");
        assert_eq!(
            e.to_string(),
            "cluster hello-blue: still CREATING after 40s"
        );
        // 0, 15, 30, then the last 10 s: no look after the deadline.
        assert_eq!(started.elapsed(), Duration::from_secs(40));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_look_ends_the_wait_with_its_error() {
        let e = wait_for("x", WaitOptions::eks(Duration::from_secs(60)), || async {
            Err::<Poll<()>, _>("FAILED: no capacity")
        })
        .await
        .expect_err("fails");
        assert!(matches!(e, WaitError::Failed("FAILED: no capacity")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wake_up_source_shortens_the_sleep() {
        let started = tokio::time::Instant::now();
        let looks = Cell::new(0);
        wait_for_change(
            "rollout",
            WaitOptions::new(Duration::from_secs(10), Duration::from_secs(60)),
            || async {
                looks.set(looks.get() + 1);
                Ok::<_, String>(if looks.get() == 4 {
                    Poll::Ready(())
                } else {
                    Poll::Pending("1/2 ready".into())
                })
            },
            // Something changes a second after each look.
            |window| async move {
                tokio::time::sleep(window.min(Duration::from_secs(1))).await;
                Ok(())
            },
        )
        .await
        .expect("ready");
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_wait_as_told_then_back_off_and_stop() {
        let started = tokio::time::Instant::now();
        let backoff = Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
            attempts: 4,
        };
        let done = retry("listing", backoff, |n| async move {
            match n {
                1 => Attempt::Again {
                    error: "429".to_string(),
                    after: Some(Duration::from_secs(7)),
                },
                2 => Attempt::Again {
                    error: "503".to_string(),
                    after: None,
                },
                _ => Attempt::Done(n),
            }
        })
        .await
        .expect("done");
        // 7 s as told, then the backoff's second delay (2 s).
        assert_eq!((done, started.elapsed()), (3, Duration::from_secs(9)));

        let tries = Cell::new(0);
        let e = retry("listing", backoff, |_| async {
            tries.set(tries.get() + 1);
            Attempt::<(), _>::Again {
                error: "503".to_string(),
                after: Some(Duration::from_secs(600)),
            }
        })
        .await
        .expect_err("gives up");
        assert_eq!((e.as_str(), tries.get()), ("503", 4));

        let e = retry("listing", backoff, |_| async {
            Attempt::<(), _>::Failed("401".to_string())
        })
        .await
        .expect_err("not retried");
        assert_eq!(e, "401");
    }
}
