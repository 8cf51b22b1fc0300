//! An in-test HTTP double of the few GitHub endpoints paved uses, with state (deployments,
//! statuses, comments) and a record of every request, for the flows Prism cannot show: a comment
//! found and updated, history order, prune. Prism checks the same requests against GitHub's
//! description in tests/github_prism.rs, and checks every request of a double started with
//! `checked_by`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// A scripted answer: status, extra headers, body.
pub type Answer = (u16, Vec<(String, String)>, Value);

#[derive(Default)]
pub struct State {
    pub deployments: Vec<Value>,
    pub statuses: Vec<(u64, Value)>,
    pub comments: Vec<Value>,
    pub requests: Vec<String>,
    /// The pull requests `commits/{sha}/pulls` answers with.
    pub commit_pulls: Vec<u64>,
    /// Answers given before any other, in order: status, extra headers, body.
    pub scripted: std::collections::VecDeque<Answer>,
    /// Requests Prism refused (with `checked_by`): method, target, Prism's answer.
    pub refused_by_prism: Vec<String>,
    next: u64,
}

#[derive(Clone)]
pub struct GitHubDouble {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    /// Prism serving GitHub's description: every request is also sent there, and what it
    /// refuses is kept in `State::refused_by_prism`.
    prism: Option<String>,
}

impl GitHubDouble {
    pub fn start() -> GitHubDouble {
        Self::serve(None)
    }

    /// A double whose every request is also checked by Prism at `prism` (the state comes from
    /// the double, the request shapes from GitHub's description).
    pub fn checked_by(prism: &str) -> GitHubDouble {
        Self::serve(Some(prism.to_string()))
    }

    fn serve(prism: Option<String>) -> GitHubDouble {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let double = GitHubDouble {
            url,
            state: Arc::default(),
            prism,
        };
        let served = double.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let (method, target) = (
                    parts.next().unwrap_or("").to_string(),
                    parts.next().unwrap_or("").to_string(),
                );
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) <= 2 {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let (status, headers, reply) = served.answer(&method, &target, body);
                let text = reply.to_string();
                let extra: String = headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}\r\n"))
                    .collect();
                let mut out = stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        double
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().expect("lock").requests.clone()
    }

    /// Answer the next requests with these, whatever they ask.
    #[allow(clippy::type_complexity)]
    pub fn script(&self, answers: Vec<(u16, Vec<(&str, &str)>, Value)>) {
        let mut st = self.state.lock().expect("lock");
        for (status, headers, body) in answers {
            let headers = headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            st.scripted.push_back((status, headers, body));
        }
    }

    /// The statuses posted to a deployment, oldest first.
    pub fn statuses_of(&self, id: u64) -> Vec<Value> {
        let st = self.state.lock().expect("lock");
        st.statuses
            .iter()
            .filter(|(d, _)| *d == id)
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// What Prism says of a request, kept when it refuses it.
    fn check_with_prism(&self, method: &str, target: &str, body: &Value) {
        let Some(prism) = &self.prism else { return };
        let text = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let mut headers = vec![
            ("authorization", "Bearer ghs_checked"),
            ("accept", "application/json"),
        ];
        if !text.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        let answer = super::http::request(method, &format!("{prism}{target}"), &headers, &text);
        if (400..500).contains(&answer.status) {
            self.state
                .lock()
                .expect("lock")
                .refused_by_prism
                .push(format!(
                    "{method} {target} -> {}: {}",
                    answer.status, answer.body
                ));
        }
    }

    fn answer(&self, method: &str, target: &str, body: Value) -> Answer {
        self.check_with_prism(method, target, &body);
        let scripted = {
            let mut st = self.state.lock().expect("lock");
            let next = st.scripted.pop_front();
            if next.is_some() {
                st.requests.push(format!("{method} {target}"));
            }
            next
        };
        match scripted {
            Some(answer) => answer,
            None => {
                let (status, reply) = self.handle(method, target, body);
                (status, Vec::new(), reply)
            }
        }
    }

    fn handle(&self, method: &str, target: &str, body: Value) -> (u16, Value) {
        let mut st = self.state.lock().expect("lock");
        st.requests.push(format!("{method} {target}"));
        let path = target.split('?').next().unwrap_or_default();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        st.next += 1;
        let id = st.next;
        match (method, segs.as_slice()) {
            ("POST", ["repos", _, _, "deployments"]) => {
                let d = json!({ "id": id, "sha": body["ref"], "environment": body["environment"], "payload": body["payload"], "production_environment": body["production_environment"], "created_at": format!("2026-11-22T{:02}:{:02}:{:02}Z", id / 3600, id / 60 % 60, id % 60) });
                st.deployments.push(d.clone());
                (201, d)
            }
            ("GET", ["repos", _, _, "deployments"]) => (200, Value::Array(st.deployments.clone())),
            ("GET", ["repos", _, _, "deployments", d]) => {
                let d: u64 = d.parse().unwrap_or(0);
                match st.deployments.iter().find(|x| x["id"].as_u64() == Some(d)) {
                    Some(found) => (200, found.clone()),
                    None => (404, json!({ "message": "Not Found" })),
                }
            }
            ("GET", ["repos", _, _, "commits", _, "pulls"]) => {
                let pulls: Vec<Value> = st
                    .commit_pulls
                    .iter()
                    .map(|n| json!({ "number": n }))
                    .collect();
                (200, Value::Array(pulls))
            }
            ("DELETE", ["repos", _, _, "deployments", d]) => {
                let d: u64 = d.parse().unwrap_or(0);
                st.deployments.retain(|x| x["id"].as_u64() != Some(d));
                (204, Value::Null)
            }
            ("POST", ["repos", _, _, "deployments", d, "statuses"]) => {
                let d: u64 = d.parse().unwrap_or(0);
                let mut s = body.clone();
                s["id"] = json!(id);
                st.statuses.push((d, s.clone()));
                (201, s)
            }
            ("GET", ["repos", _, _, "deployments", d, "statuses"]) => {
                let d: u64 = d.parse().unwrap_or(0);
                let mut list: Vec<Value> = st
                    .statuses
                    .iter()
                    .filter(|(x, _)| *x == d)
                    .map(|(_, s)| s.clone())
                    .collect();
                list.reverse();
                (200, Value::Array(list))
            }
            ("GET", ["repos", _, _, "issues", _, "comments"]) => {
                (200, Value::Array(st.comments.clone()))
            }
            ("POST", ["repos", _, _, "issues", _, "comments"]) => {
                let c = json!({ "id": id, "body": body["body"] });
                st.comments.push(c.clone());
                (201, c)
            }
            ("DELETE", ["repos", _, _, "issues", "comments", c]) => {
                let c: u64 = c.parse().unwrap_or(0);
                st.comments.retain(|x| x["id"].as_u64() != Some(c));
                (204, Value::Null)
            }
            ("PATCH", ["repos", _, _, "issues", "comments", c]) => {
                let c: u64 = c.parse().unwrap_or(0);
                for comment in st
                    .comments
                    .iter_mut()
                    .filter(|x| x["id"].as_u64() == Some(c))
                {
                    comment["body"] = body["body"].clone();
                }
                (200, json!({ "id": c, "body": body["body"] }))
            }
            _ => (404, json!({ "message": "Not Found" })),
        }
    }
}
