//! Authentication to an EKS API server that outlives one token: a tower layer that puts an EKS
//! token on every request and signs a new one, from fresh credentials, before the old one
//! expires. EKS accepts a token for 15 minutes; waits for a rollout or a load balancer can run
//! longer than that, and the role session behind the credentials may be renewed meanwhile.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use http::header::{AUTHORIZATION, HeaderValue};
use tower::{Layer, Service};

use paved_aws::eks_token;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Signing = Pin<Box<dyn Future<Output = Result<HeaderValue, BoxError>> + Send>>;

/// How long a token is used before a new one is signed: well inside the 14 minutes paved gives
/// a token ([`eks_token::TOKEN_LIFETIME`]), so a request in flight never carries one that expires.
pub const RESIGN_AFTER: Duration = Duration::from_secs(10 * 60);
const _: () = assert!(RESIGN_AFTER.as_secs() + 3 * 60 <= eks_token::TOKEN_LIFETIME.as_secs());

/// What signs the tokens of one cluster, and the current one.
pub struct TokenSource {
    cluster: String,
    region: String,
    credentials: SharedCredentialsProvider,
    resign_after: Duration,
    current: Mutex<Option<(HeaderValue, SystemTime)>>,
    signed: std::sync::atomic::AtomicUsize,
}

impl TokenSource {
    pub fn new(
        cluster: &str,
        region: &str,
        credentials: SharedCredentialsProvider,
    ) -> Arc<TokenSource> {
        Self::resigning_after(cluster, region, credentials, RESIGN_AFTER)
    }

    /// A source that signs anew once a token is `resign_after` old.
    pub fn resigning_after(
        cluster: &str,
        region: &str,
        credentials: SharedCredentialsProvider,
        resign_after: Duration,
    ) -> Arc<TokenSource> {
        Arc::new(TokenSource {
            cluster: cluster.into(),
            region: region.into(),
            credentials,
            resign_after,
            current: Mutex::new(None),
            signed: Default::default(),
        })
    }

    /// How many tokens it signed.
    pub fn signed(&self) -> usize {
        self.signed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current header, while it is young enough.
    fn fresh(&self, now: SystemTime) -> Option<HeaderValue> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current
            .as_ref()
            .filter(|(_, at)| now.duration_since(*at).unwrap_or_default() < self.resign_after)
            .map(|(h, _)| h.clone())
    }

    /// The last header signed, whatever its age.
    fn last(&self) -> Option<HeaderValue> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref().map(|(h, _)| h.clone())
    }

    /// Sign a token from the provider's credentials (which refreshes an expiring session).
    async fn sign(self: Arc<Self>) -> Result<HeaderValue, BoxError> {
        let credentials = self.credentials.provide_credentials().await?;
        let now = SystemTime::now();
        let token = eks_token::token(&self.cluster, &self.region, credentials, now)?;
        paved_actions::mask(&token.token);
        let mut header = HeaderValue::from_str(&format!("Bearer {}", token.token))?;
        header.set_sensitive(true);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((header.clone(), now));
        self.signed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(header)
    }

    /// Age the current token by `by` (tests).
    #[doc(hidden)]
    pub fn age(&self, by: Duration) {
        if let Some((_, at)) = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            *at -= by;
        }
    }
}

/// The layer; see the module docs.
#[derive(Clone)]
pub struct EksAuthLayer(pub Arc<TokenSource>);

impl<S> Layer<S> for EksAuthLayer {
    type Service = EksAuth<S>;

    fn layer(&self, inner: S) -> EksAuth<S> {
        EksAuth {
            inner,
            source: self.0.clone(),
            ready: None,
            signing: None,
        }
    }
}

/// The service: signs (when due) while getting ready, so `call` only sets the header.
pub struct EksAuth<S> {
    inner: S,
    source: Arc<TokenSource>,
    ready: Option<HeaderValue>,
    signing: Option<Signing>,
}

impl<S, B> Service<http::Request<B>> for EksAuth<S>
where
    S: Service<http::Request<B>>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = futures::future::MapErr<S::Future, fn(S::Error) -> BoxError>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        if self.ready.is_none() {
            if let Some(h) = self.source.fresh(SystemTime::now()) {
                self.ready = Some(h);
            } else {
                let signing = self
                    .signing
                    .get_or_insert_with(|| Box::pin(self.source.clone().sign()));
                match signing.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(result) => {
                        self.signing = None;
                        self.ready = Some(result?);
                    }
                }
            }
        }
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // poll_ready put a header here; a caller that skipped it gets the last one signed.
        let header = self.ready.take().or_else(|| self.source.last());
        if let Some(h) = header {
            request.headers_mut().insert(AUTHORIZATION, h);
        }
        futures::TryFutureExt::map_err(self.inner.call(request), Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn source(resign_after: Duration) -> Arc<TokenSource> {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        TokenSource::resigning_after(
            "app-blue",
            "us-east-1",
            SharedCredentialsProvider::new(creds),
            resign_after,
        )
    }

    /// A service that keeps the Authorization header of each request.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>, Arc<AtomicUsize>);

    impl Service<http::Request<()>> for Recorder {
        type Response = ();
        type Error = BoxError;
        type Future = std::future::Ready<Result<(), BoxError>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, r: http::Request<()>) -> Self::Future {
            let h = r
                .headers()
                .get(AUTHORIZATION)
                .map(|h| h.to_str().unwrap_or_default().to_string());
            self.0.lock().unwrap().push(h.unwrap_or_default());
            self.1.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Ok(()))
        }
    }

    async fn send(svc: &mut EksAuth<Recorder>) {
        std::future::poll_fn(|cx| svc.poll_ready(cx))
            .await
            .expect("ready");
        svc.call(http::Request::new(())).await.expect("call");
    }

    #[tokio::test]
    async fn a_token_is_reused_while_young_and_signed_again_before_it_expires() {
        let source = source(RESIGN_AFTER);
        let recorder = Recorder::default();
        let mut svc = EksAuthLayer(source.clone()).layer(recorder.clone());
        send(&mut svc).await;
        send(&mut svc).await;
        assert_eq!(source.signed(), 1, "one token for requests close together");
        let seen = recorder.0.lock().unwrap().clone();
        assert!(
            seen[0].starts_with("Bearer k8s-aws-v1."),
            "{}",
            &seen[0][..20]
        );
        assert_eq!(seen[0], seen[1]);
        // Eleven minutes later: a new token, signed at the new time.
        source.age(Duration::from_secs(11 * 60));
        send(&mut svc).await;
        assert_eq!(source.signed(), 2);
        let seen = recorder.0.lock().unwrap().clone();
        assert!(seen[2].starts_with("Bearer k8s-aws-v1."));
        assert_eq!(recorder.1.load(Ordering::Relaxed), 3);
    }
}
