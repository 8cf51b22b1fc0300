//! The spec's HTTP checks, sent to one target (a load balancer, before or after DNS points at it)
//! with the app's DNS name as Host, retried until all pass or the time is up.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::spec::HttpCheck;

/// Where checks go.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://lb-hostname` or `http://127.0.0.1:8080`
    pub base_url: String,
    /// The Host header, normally the app's DNS name.
    pub host: Option<String>,
}

/// One check's last result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub method: String,
    pub path: String,
    pub expect: u16,
    pub status: Option<u16>,
    pub ok: bool,
    /// Why it failed, or empty.
    pub detail: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("paved-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Run one check once.
pub async fn run_once(http: &reqwest::Client, target: &Target, check: &HttpCheck) -> CheckResult {
    let url = format!("{}{}", target.base_url.trim_end_matches('/'), check.http);
    let method =
        reqwest::Method::from_bytes(check.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = http.request(method, &url);
    if let Some(host) = &target.host {
        req = req.header(reqwest::header::HOST, host);
    }
    let mut result = CheckResult {
        method: check.method.clone(),
        path: check.http.clone(),
        expect: check.expect,
        status: None,
        ok: false,
        detail: String::new(),
    };
    match req.send().await {
        Err(e) if e.is_timeout() => result.detail = format!("{url}: no answer within 10s"),
        Err(e) => result.detail = format!("{url}: {e}"),
        Ok(resp) => {
            let status = resp.status().as_u16();
            result.status = Some(status);
            let body = resp.text().await.unwrap_or_default();
            if status != check.expect {
                result.detail = format!("{url}: status {status}, expected {}", check.expect);
            } else if let Some(want) = check.body.as_ref().filter(|w| !body.contains(w.as_str())) {
                let shown: String = body.chars().take(200).collect();
                result.detail = format!("{url}: body does not contain {want:?} (got {shown:?})");
            } else {
                result.ok = true;
            }
        }
    }
    result
}

/// Run all checks until every one passes in the same round, or `timeout` passes; `Err` carries the
/// last round's results.
pub async fn run_until(
    target: &Target,
    checks: &[HttpCheck],
    timeout: Duration,
    interval: Duration,
) -> Result<Vec<CheckResult>, Vec<CheckResult>> {
    let http = client();
    let start = Instant::now();
    let mut round = 0u32;
    loop {
        round += 1;
        let mut results = Vec::with_capacity(checks.len());
        for c in checks {
            results.push(run_once(&http, target, c).await);
        }
        if results.iter().all(|r| r.ok) {
            return Ok(results);
        }
        if start.elapsed() + interval > timeout {
            return Err(results);
        }
        if round == 1 || round.is_multiple_of(10) {
            for r in results.iter().filter(|r| !r.ok) {
                tracing::info!("check {} {}: {} (retrying)", r.method, r.path, r.detail);
            }
        }
        tokio::time::sleep(interval).await;
    }
}
