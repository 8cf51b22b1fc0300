//! The spec's HTTP checks, sent to one target (a load balancer, before or after DNS points at it)
//! with the app's DNS name as Host, retried until all pass or the time is up.

use std::time::Duration;

use serde::Serialize;

use crate::spec::HttpCheck;
use crate::wait::{Poll, WaitOptions, wait_for};

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

/// Longest a single request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn client(request_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(request_timeout)
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
        Err(e) if e.is_timeout() => result.detail = format!("{url}: no answer in time"),
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
    // A request never outlives the whole budget.
    let http = client(REQUEST_TIMEOUT.min(timeout));
    let last = std::sync::Mutex::new(Vec::new());
    let passed = wait_for(
        "HTTP checks",
        WaitOptions::new(interval, timeout),
        || async {
            let mut results = Vec::with_capacity(checks.len());
            for c in checks {
                results.push(run_once(&http, target, c).await);
            }
            if results.iter().all(|r| r.ok) {
                return Ok::<_, std::convert::Infallible>(Poll::Ready(results));
            }
            let failing: Vec<String> = results
                .iter()
                .filter(|r| !r.ok)
                .map(|r| format!("{} {}: {}", r.method, r.path, r.detail))
                .collect();
            *last.lock().unwrap_or_else(|e| e.into_inner()) = results;
            Ok(Poll::Pending(failing.join("; ")))
        },
    )
    .await;
    passed.map_err(|_| last.into_inner().unwrap_or_else(|e| e.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    /// A local server: answers with `status` after `fail_first` requests that get a 500, or never
    /// answers when `silent`.
    fn server(status: u16, fail_first: usize, silent: bool) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                let mut host = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    if line.to_ascii_lowercase().starts_with("host:") {
                        host = line[5..].trim().to_string();
                    }
                    line.clear();
                }
                if silent {
                    held.push(stream);
                    continue;
                }
                let code = if n < fail_first { 500 } else { status };
                let body = format!("ok host={host}");
                let mut out = stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 {code} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, hits)
    }

    fn check(expect: u16, body: Option<&str>) -> HttpCheck {
        HttpCheck {
            http: "/healthz".into(),
            method: "GET".into(),
            expect,
            body: body.map(String::from),
        }
    }

    #[tokio::test]
    async fn success_sends_the_host_header() {
        let (url, _) = server(200, 0, false);
        let target = Target {
            base_url: url,
            host: Some("hello.example.com".into()),
        };
        let ok = run_until(
            &target,
            &[check(200, Some("host=hello.example.com"))],
            Duration::from_secs(5),
            Duration::from_millis(10),
        )
        .await;
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[tokio::test]
    async fn a_wrong_status_fails_with_what_came_back() {
        let (url, _) = server(404, 0, false);
        let target = Target {
            base_url: url,
            host: None,
        };
        let failed = run_until(
            &target,
            &[check(200, None)],
            Duration::from_millis(200),
            Duration::from_millis(50),
        )
        .await
        .expect_err("404");
        assert!(
            failed[0].detail.contains("status 404, expected 200"),
            "{:?}",
            failed[0]
        );
    }

    #[tokio::test]
    async fn failures_are_retried_until_they_pass() {
        let (url, hits) = server(200, 3, false);
        let target = Target {
            base_url: url,
            host: None,
        };
        let ok = run_until(
            &target,
            &[check(200, None)],
            Duration::from_secs(5),
            Duration::from_millis(10),
        )
        .await;
        assert!(ok.is_ok(), "{ok:?}");
        assert_eq!(hits.load(Ordering::SeqCst), 4, "three 500s, then a 200");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let (url, _) = server(200, 0, true);
        let target = Target {
            base_url: url,
            host: None,
        };
        let started = Instant::now();
        let failed = run_until(
            &target,
            &[check(200, None)],
            Duration::from_millis(500),
            Duration::from_millis(50),
        )
        .await
        .expect_err("silent");
        assert!(
            failed[0].detail.contains("no answer in time"),
            "{:?}",
            failed[0]
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "bounded by the verify timeout, not 10 s a request"
        );
    }
}
