//! Waiting on a cluster through paved's one wait helper: a watch (kube-runtime's watcher) is the
//! wake-up source, so a change is seen when it happens and not at the next poll; a look at the
//! objects decides whether the wait is over.

use std::fmt::Debug;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use paved_wait::{Poll, WaitError, WaitOptions, wait_for_change};
use serde::de::DeserializeOwned;

use super::KubeError;

/// The changes to some objects, as a wake-up source for [`wait_for_change`].
pub struct Changes<K> {
    stream: tokio::sync::Mutex<BoxStream<'static, Result<watcher::Event<K>, watcher::Error>>>,
}

impl<K> Changes<K>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    K::DynamicType: Default,
{
    /// Watch what `config` selects through `api` (the watcher lists, then watches, and starts
    /// again after an expired resourceVersion or a dropped connection).
    pub fn new(api: Api<K>, config: watcher::Config) -> Self {
        Changes {
            stream: tokio::sync::Mutex::new(watcher(api, config).default_backoff().boxed()),
        }
    }

    /// Return at the next change, or once `window` has passed. Changes that arrived together
    /// (a list's worth at the start) count as one.
    pub async fn within(&self, window: Duration) -> Result<(), KubeError> {
        let mut stream = self.stream.lock().await;
        if tokio::time::timeout(window, stream.next()).await.is_ok() {
            while let Some(Some(_)) = stream.next().now_or_never() {}
        }
        Ok(())
    }
}

/// A Service's first load balancer address (hostname, else IP), once the controller has set it.
pub async fn load_balancer_address(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<String, WaitError<KubeError>> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let changes = Changes::new(
        api.clone(),
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    );
    wait_for_change(
        &format!("the load balancer of Service {namespace}/{name}"),
        WaitOptions::new(Duration::from_secs(10), timeout),
        || async {
            let svc = api.get(name).await?;
            let ingress = svc
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|l| l.ingress.as_ref())
                .and_then(|i| i.first());
            Ok(
                match ingress.and_then(|i| i.hostname.clone().or_else(|| i.ip.clone())) {
                    Some(address) => Poll::Ready(address),
                    None => Poll::Pending("without an address".into()),
                },
            )
        },
        |window| changes.within(window),
    )
    .await
}
