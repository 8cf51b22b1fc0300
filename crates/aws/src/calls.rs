//! Counting and pacing AWS calls, for commands that read a whole fleet: an interceptor that
//! counts every attempt a client sends (retries included), and a pacer that keeps a service
//! under its request rate (Route53 allows five requests a second per account).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_eks::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_eks::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Counts the requests a client sends; clone it into each client's config.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicUsize>);

impl CallCounter {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "paved::CallCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Spaces calls at least `1/rate` apart, across every task that shares it.
#[derive(Debug, Clone)]
pub struct Pacer {
    gap: Duration,
    next: Arc<Mutex<Option<Instant>>>,
}

impl Pacer {
    pub fn per_second(rate: u32) -> Pacer {
        Pacer {
            gap: Duration::from_secs(1) / rate.max(1),
            next: Arc::default(),
        }
    }

    /// Wait for this call's turn.
    pub async fn turn(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.gap);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pacer_spaces_calls_by_its_rate() {
        let pacer = Pacer::per_second(50);
        let start = Instant::now();
        for _ in 0..6 {
            pacer.turn().await;
        }
        // The first goes at once, the next five at least 20 ms apart.
        assert!(start.elapsed() >= Duration::from_millis(100));
    }
}
