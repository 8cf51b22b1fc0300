//! A proxy between paved and moto that injects faults at the boundary between AWS calls:
//! SIGKILL of the paved process just before a given request reaches AWS or just after AWS
//! carried it out (the answer never arrives), or a throttling or 5xx error answered to the first
//! attempt of every distinct request, in the error shape of the service's protocol.
//!
//! Every request is answered with `connection: close`, so each one is a connection of its own and
//! the count is exact.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What to do to the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass everything through.
    None,
    /// Kill the process when request n (1-based) arrives; AWS never sees it.
    KillBefore(usize),
    /// Kill the process once AWS has answered request n; paved never sees the answer.
    KillAfter(usize),
    /// Answer the first attempt of every distinct request with an error the SDK retries,
    /// throttling and 503 in turn.
    FailFirstAttempts,
}

#[derive(Default)]
struct ProxyState {
    fault: Option<Fault>,
    victim: Option<u32>,
    count: usize,
    killed: bool,
    seen: HashSet<String>,
    injected: usize,
    operations: Vec<String>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    upstream: String,
    state: Arc<Mutex<ProxyState>>,
}

struct Request {
    head: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The API operation, for the log: the JSON target, else method and path.
    fn operation(&self) -> String {
        match self.header("x-amz-target") {
            Some(target) => target.rsplit('.').next().unwrap_or(target).to_string(),
            None => {
                let mut parts = self.head.split_whitespace();
                let method = parts.next().unwrap_or_default();
                let path = parts.next().unwrap_or_default();
                let path = path.split('?').next().unwrap_or_default();
                if let Some(action) = form_action(&self.body) {
                    return action;
                }
                format!("{method} {path}")
            }
        }
    }

    /// What makes two requests the same call (a retry is the same; a signature or date is not).
    fn identity(&self) -> String {
        format!(
            "{} {} {}",
            self.head,
            self.header("x-amz-target").unwrap_or_default(),
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// The Action of an awsQuery (form-encoded) request such as Auto Scaling's.
fn form_action(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(String::from)
}

impl FaultProxy {
    /// A proxy in front of `upstream` (http://host:port), passing everything through.
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let proxy = FaultProxy {
            url: format!("http://{}", listener.local_addr().expect("addr")),
            upstream: upstream.trim_start_matches("http://").to_string(),
            state: Arc::default(),
        };
        let served = proxy.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let p = served.clone();
                std::thread::spawn(move || p.serve(stream));
            }
        });
        proxy
    }

    /// Apply `fault` to the traffic of process `victim` from now on, counting from zero.
    pub fn arm(&self, fault: Fault, victim: Option<u32>) {
        let mut st = self.state.lock().expect("lock");
        *st = ProxyState {
            fault: Some(fault),
            victim,
            ..ProxyState::default()
        };
    }

    pub fn count(&self) -> usize {
        self.state.lock().expect("lock").count
    }

    pub fn killed(&self) -> bool {
        self.state.lock().expect("lock").killed
    }

    pub fn injected(&self) -> usize {
        self.state.lock().expect("lock").injected
    }

    /// The operations that passed since `arm`, in order.
    pub fn operations(&self) -> Vec<String> {
        self.state.lock().expect("lock").operations.clone()
    }

    fn serve(&self, stream: TcpStream) {
        let Some(request) = read_request(&stream) else {
            return;
        };
        enum Act {
            Pass,
            KillNow,
            KillAfter,
            Fail(usize),
            Drop,
        }
        let act = {
            let mut st = self.state.lock().expect("lock");
            if st.killed {
                Act::Drop
            } else {
                st.count += 1;
                st.operations.push(request.operation());
                let n = st.count;
                match st.fault.unwrap_or(Fault::None) {
                    Fault::KillBefore(k) if k == n => {
                        st.killed = true;
                        Act::KillNow
                    }
                    Fault::KillAfter(k) if k == n => {
                        st.killed = true;
                        Act::KillAfter
                    }
                    Fault::FailFirstAttempts if st.seen.insert(request.identity()) => {
                        st.injected += 1;
                        Act::Fail(st.injected)
                    }
                    _ => Act::Pass,
                }
            }
        };
        let victim = self.state.lock().expect("lock").victim;
        let mut client = stream;
        match act {
            Act::Drop => {}
            Act::KillNow => kill(victim),
            Act::KillAfter => {
                let _ = self.forward(&request);
                kill(victim);
            }
            Act::Fail(n) => {
                let _ = client.write_all(&error_response(&request, n % 2 == 1));
            }
            Act::Pass => {
                if let Ok(answer) = self.forward(&request) {
                    let _ = client.write_all(&answer);
                }
            }
        }
    }

    fn forward(&self, request: &Request) -> std::io::Result<Vec<u8>> {
        let mut upstream = TcpStream::connect(&self.upstream)?;
        let mut head = format!("{}\r\n", request.head);
        for (k, v) in &request.headers {
            if !k.eq_ignore_ascii_case("connection") {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        head.push_str("connection: close\r\n\r\n");
        upstream.write_all(head.as_bytes())?;
        upstream.write_all(&request.body)?;
        let mut answer = Vec::new();
        upstream.read_to_end(&mut answer)?;
        Ok(close_connection(answer))
    }
}

fn kill(victim: Option<u32>) {
    if let Some(pid) = victim {
        let status = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -KILL {pid} failed");
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut head = String::new();
    if reader.read_line(&mut head).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? <= 2 {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let request = Request {
        head: head.trim_end().to_string(),
        headers,
        body: Vec::new(),
    };
    assert!(
        request.header("transfer-encoding").is_none(),
        "the fault proxy reads only content-length bodies: {}",
        request.head
    );
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { body, ..request })
}

/// The upstream's answer with `connection: close`, whatever it said.
fn close_connection(answer: Vec<u8>) -> Vec<u8> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return answer;
    };
    let head = String::from_utf8_lossy(&answer[..end]);
    let mut out: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("connection: close\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&answer[end + 2..]);
    bytes
}

/// A throttling error in the protocol of the request's service, or a plain 503.
fn error_response(request: &Request, throttling: bool) -> Vec<u8> {
    let path = request.head.split_whitespace().nth(1).unwrap_or_default();
    let (status, content_type, extra, body) = if !throttling {
        (
            503,
            "text/plain",
            String::new(),
            "Service Unavailable".to_string(),
        )
    } else if request.header("x-amz-target").is_some() {
        // awsJson (ECR)
        (
            400,
            "application/x-amz-json-1.1",
            String::new(),
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        )
    } else if path.starts_with("/2013-04-01/") || form_action(&request.body).is_some() {
        // restXml (Route53) and awsQuery (Auto Scaling)
        (
            400,
            "text/xml",
            String::new(),
            "<?xml version=\"1.0\"?><ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault</RequestId></ErrorResponse>".to_string(),
        )
    } else {
        // restJson (EKS)
        (
            429,
            "application/json",
            "x-amzn-errortype: ThrottlingException\r\n".to_string(),
            r#"{"message":"Rate exceeded"}"#.to_string(),
        )
    };
    format!(
        "HTTP/1.1 {status} Fault\r\ncontent-type: {content_type}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
