//! A FAKE Kubernetes API server: no kube-apiserver can be installed on this machine, so the
//! apply step is tested against this stand-in, over real HTTP, with the real kube-rs client.
//!
//! It keeps objects in memory and speaks what paved uses: get, list with label selectors,
//! delete, and server-side apply (`PATCH application/apply-patch+yaml` with `fieldManager`,
//! `force` and `dryRun=All`): maps merge, lists are owned whole, each manager owns the leaf
//! fields it applied, a field a manager stops applying is removed, another manager's field with
//! a different value is a 409 conflict unless forced. Generation rises when `spec` changes and
//! resourceVersion on every change. Not a Kubernetes API server: no defaulting, no admission,
//! no validation beyond what these tests need. The same scenarios run against a real cluster in
//! the `#[ignore = "needs cluster"]` tests and in .github/workflows/e2e.yml.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    /// Every change, for watches: (resourceVersion, key, event type, object).
    events: Vec<(u64, String, &'static str, Value)>,
    /// Plain-text bodies (pod logs) by path.
    texts: HashMap<String, String>,
    /// Object key -> manager -> leaf paths it owns.
    owners: HashMap<String, HashMap<String, BTreeSet<String>>>,
    version: u64,
    /// The hostname the stand-in controllers give new LoadBalancer Services.
    lb_hostname: String,
}

#[derive(Clone)]
pub struct FakeKube {
    pub url: String,
    state: Arc<Mutex<State>>,
    changed: Arc<std::sync::Condvar>,
    /// Every request as "METHOD path?query".
    pub log: Arc<Mutex<Vec<String>>>,
}

impl FakeKube {
    pub fn start() -> FakeKube {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = FakeKube {
            url,
            state: Arc::default(),
            changed: Arc::default(),
            log: Arc::default(),
        };
        let server = fake.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let conn = server.clone();
                std::thread::spawn(move || conn.serve(stream));
            }
        });
        fake
    }

    /// A kube client for this server.
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().expect("url"));
        kube::Client::try_from(config).expect("client")
    }

    /// Write a kubeconfig whose context `fake` points at this server.
    pub fn write_kubeconfig(&self, path: &std::path::Path) {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{ server: \"{}\" }}\nusers:\n- name: dev\n  user: {{ token: dev-token }}\ncontexts:\n- name: fake\n  context: {{ cluster: fake, user: dev }}\ncurrent-context: fake\n",
            self.url
        );
        std::fs::write(path, text).expect("kubeconfig");
    }

    /// The stored object at an API path, e.g. `/apis/apps/v1/namespaces/hello/deployments/web`.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().expect("lock").objects.get(path).cloned()
    }

    /// Store an object as another field manager would (e.g. something made by hand).
    pub fn put(&self, path: &str, object: Value, manager: &str) {
        let mut st = self.state.lock().expect("lock");
        let mut paths = BTreeSet::new();
        leaves(&object, "", &mut paths);
        st.version += 1;
        let mut object = object;
        object["metadata"]["resourceVersion"] = json!(st.version.to_string());
        st.owners
            .entry(path.to_string())
            .or_default()
            .insert(manager.to_string(), paths);
        st.objects.insert(path.to_string(), object);
    }

    /// Set an object's status (as a controller would), waking watchers.
    pub fn set_status(&self, path: &str, status: Value) {
        let mut st = self.state.lock().expect("lock");
        st.version += 1;
        let version = st.version;
        if let Some(o) = st.objects.get_mut(path) {
            o["status"] = status;
            o["metadata"]["resourceVersion"] = json!(version.to_string());
            let o = o.clone();
            st.events.push((version, path.to_string(), "MODIFIED", o));
        }
        self.changed.notify_all();
    }

    /// Act as the cluster's controllers for a pipeline run: every Deployment whose generation
    /// has not been observed becomes rolled out, every LoadBalancer Service gets `hostname`.
    pub fn run_controllers(&self, hostname: &str) {
        self.set_lb_hostname(hostname);
        let fake = self.clone();
        std::thread::spawn(move || {
            loop {
                let (objects, hostname): (Vec<(String, Value)>, String) = {
                    let st = fake.state.lock().expect("lock");
                    let objects = st
                        .objects
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    (objects, st.lb_hostname.clone())
                };
                for (path, o) in objects {
                    let generation = o["metadata"]["generation"].as_u64().unwrap_or(1);
                    if path.contains("/deployments/")
                        && o["status"]["observedGeneration"].as_u64() != Some(generation)
                    {
                        let n = o["spec"]["replicas"].as_u64().unwrap_or(1);
                        fake.set_status(
                            &path,
                            json!({ "observedGeneration": generation, "replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n, "conditions": [{ "type": "Available", "status": "True" }] }),
                        );
                    }
                    if path.contains("/services/")
                        && o["spec"]["type"] == "LoadBalancer"
                        && o["status"]["loadBalancer"]["ingress"].is_null()
                    {
                        fake.set_status(
                            &path,
                            json!({ "loadBalancer": { "ingress": [{ "hostname": hostname }] } }),
                        );
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
    }

    /// The hostname LoadBalancer Services created from now on get.
    pub fn set_lb_hostname(&self, hostname: &str) {
        self.state.lock().expect("lock").lb_hostname = hostname.to_string();
    }

    /// Serve `text` at `path` (a pod's log).
    pub fn put_text(&self, path: &str, text: &str) {
        self.state
            .lock()
            .expect("lock")
            .texts
            .insert(path.to_string(), text.to_string());
    }

    pub fn requests(&self) -> Vec<String> {
        self.log.lock().expect("lock").clone()
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut out = stream;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let mut parts = line.split_whitespace();
            let (method, target) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            let mut length = 0usize;
            let mut content_type = String::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) <= 2 {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if let Some(v) = lower.strip_prefix("content-type:") {
                    content_type = v.trim().to_string();
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            self.log
                .lock()
                .expect("lock")
                .push(format!("{method} {target}"));
            if method == "GET" && target.contains("watch=true") {
                if self.watch(&target, &mut out).is_err() {
                    return;
                }
                continue;
            }
            let text_path = target.split('?').next().unwrap_or_default().to_string();
            let text = self
                .state
                .lock()
                .expect("lock")
                .texts
                .get(&text_path)
                .cloned();
            let (status, content_type, reply) = match text {
                Some(text) => (200, "text/plain", text),
                None => {
                    let (status, reply) = self.handle(&method, &target, &content_type, &body);
                    (status, "application/json", reply.to_string())
                }
            };
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                reply.len()
            );
            if out
                .write_all(head.as_bytes())
                .and_then(|_| out.write_all(reply.as_bytes()))
                .is_err()
            {
                return;
            }
        }
    }

    /// A watch: the changes after `resourceVersion` that match, streamed as chunked JSON lines
    /// as they happen, until `timeoutSeconds`.
    fn watch(&self, target: &str, out: &mut TcpStream) -> std::io::Result<()> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let q: HashMap<String, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), decode(v)))
            .collect();
        let Route::List {
            prefix,
            namespace,
            plural,
        } = Route::parse(path)
        else {
            return out.write_all(b"HTTP/1.1 400 X\r\ncontent-length: 0\r\n\r\n");
        };
        let selector = q.get("labelSelector").cloned().unwrap_or_default();
        let mut seen: u64 = q
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let timeout = std::time::Duration::from_secs(
            q.get("timeoutSeconds")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30),
        );
        let deadline = std::time::Instant::now() + timeout;
        out.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")?;
        let mut st = self.state.lock().expect("lock");
        loop {
            let pending: Vec<(u64, String)> = st
                .events
                .iter()
                .filter(|(v, k, _, o)| {
                    *v > seen
                        && list_matches(k, &prefix, namespace.as_deref(), &plural)
                        && selects(&selector, o)
                })
                .map(|(v, _, t, o)| (*v, json!({ "type": t, "object": o }).to_string()))
                .collect();
            seen = st.version;
            drop(st);
            for (_, line) in pending {
                let line = format!("{line}\n");
                out.write_all(format!("{:x}\r\n{line}\r\n", line.len()).as_bytes())?;
            }
            out.flush()?;
            let now = std::time::Instant::now();
            if now >= deadline {
                return out.write_all(b"0\r\n\r\n");
            }
            st = self.state.lock().expect("lock");
            if st.version == seen {
                st = self
                    .changed
                    .wait_timeout(st, deadline - now)
                    .expect("wait")
                    .0;
            }
        }
    }

    fn handle(&self, method: &str, target: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let q: HashMap<String, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), decode(v)))
            .collect();
        let route = Route::parse(path);
        let mut st = self.state.lock().expect("lock");
        match (method, route) {
            ("GET", Route::Object(key)) => match st.objects.get(&key) {
                Some(o) => (200, o.clone()),
                None => not_found(&key),
            },
            (
                "GET",
                Route::List {
                    prefix,
                    namespace,
                    plural,
                },
            ) => {
                let selector = q.get("labelSelector").cloned().unwrap_or_default();
                let involved = q
                    .get("fieldSelector")
                    .and_then(|f| f.strip_prefix("involvedObject.name=").map(String::from));
                let items: Vec<Value> = st
                    .objects
                    .iter()
                    .filter(|(k, _)| list_matches(k, &prefix, namespace.as_deref(), &plural))
                    .filter(|(_, o)| selects(&selector, o))
                    .filter(|(_, o)| {
                        involved.as_ref().is_none_or(|n| {
                            o["involvedObject"]["name"].as_str() == Some(n.as_str())
                        })
                    })
                    .map(|(_, o)| o.clone())
                    .collect();
                (
                    200,
                    json!({ "kind": "List", "apiVersion": "v1", "metadata": { "resourceVersion": st.version.to_string() }, "items": items }),
                )
            }
            ("DELETE", Route::Object(key)) => match st.objects.remove(&key) {
                Some(o) => {
                    st.owners.remove(&key);
                    st.version += 1;
                    let version = st.version;
                    st.events.push((version, key.clone(), "DELETED", o.clone()));
                    self.changed.notify_all();
                    (200, o)
                }
                None => not_found(&key),
            },
            ("PATCH", Route::Object(key))
                if content_type.starts_with("application/apply-patch") =>
            {
                let applied: Value = match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(e) => return (400, status(400, "BadRequest", &e.to_string())),
                };
                let manager = q.get("fieldManager").cloned().unwrap_or_default();
                let force = q.get("force").is_some_and(|v| v == "true");
                let dry_run = q.get("dryRun").is_some_and(|v| v == "All");
                let result = apply(&mut st, &key, applied, &manager, force, dry_run);
                self.changed.notify_all();
                result
            }
            _ => (
                405,
                status(
                    405,
                    "MethodNotAllowed",
                    &format!("the fake does not serve {method} {path}"),
                ),
            ),
        }
    }
}

enum Route {
    Object(String),
    List {
        prefix: String,
        namespace: Option<String>,
        plural: String,
    },
}

impl Route {
    fn parse(path: &str) -> Route {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let split = if segs.first() == Some(&"api") { 2 } else { 3 };
        let prefix = format!("/{}", segs[..split.min(segs.len())].join("/"));
        let rest = &segs[split.min(segs.len())..];
        match rest {
            ["namespaces"] => Route::List {
                prefix,
                namespace: None,
                plural: "namespaces".into(),
            },
            ["namespaces", ns, plural] => Route::List {
                prefix,
                namespace: Some((*ns).into()),
                plural: (*plural).into(),
            },
            [plural] => Route::List {
                prefix,
                namespace: None,
                plural: (*plural).into(),
            },
            _ => Route::Object(path.to_string()),
        }
    }
}

fn list_matches(key: &str, prefix: &str, namespace: Option<&str>, plural: &str) -> bool {
    let Some(rest) = key.strip_prefix(prefix) else {
        return false;
    };
    let segs: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (segs.as_slice(), plural) {
        (["namespaces", _], "namespaces") => namespace.is_none(),
        (["namespaces", ns, p, _], _) => *p == plural && namespace.is_none_or(|n| n == *ns),
        _ => false,
    }
}

fn selects(selector: &str, object: &Value) -> bool {
    let labels = &object["metadata"]["labels"];
    selector.split(',').filter(|s| !s.is_empty()).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            labels[k].as_str() != Some(v)
        } else if let Some((k, v)) = term.split_once('=') {
            labels[k].as_str() == Some(v.trim_start_matches('='))
        } else {
            !labels[term].is_null()
        }
    })
}

fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code })
}

fn not_found(key: &str) -> (u16, Value) {
    (404, status(404, "NotFound", &format!("{key} not found")))
}

/// Leaf paths of a value; lists are leaves (owned whole).
fn leaves(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                leaves(child, &format!("{path}/{k}"), out);
            }
        }
        _ => {
            out.insert(path.to_string());
        }
    }
}

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    v.pointer(path)
}

fn remove_path(v: &mut Value, path: &str) {
    if let Some((parent, last)) = path.rsplit_once('/') {
        let parent_value = if parent.is_empty() {
            Some(&mut *v)
        } else {
            v.pointer_mut(parent)
        };
        if let Some(Value::Object(m)) = parent_value {
            m.remove(last);
        }
    }
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Metadata the server owns, not the appliers.
const SERVER_FIELDS: [&str; 5] = [
    "/metadata/resourceVersion",
    "/metadata/uid",
    "/metadata/generation",
    "/metadata/creationTimestamp",
    "/status",
];

fn apply(
    st: &mut State,
    key: &str,
    applied: Value,
    manager: &str,
    force: bool,
    dry_run: bool,
) -> (u16, Value) {
    let mut new_paths = BTreeSet::new();
    leaves(&applied, "", &mut new_paths);
    new_paths.retain(|p| {
        !SERVER_FIELDS.iter().any(|s| p.starts_with(s)) && p != "/apiVersion" && p != "/kind"
    });
    let existing = st.objects.get(key).cloned();
    let mut owners = st.owners.get(key).cloned().unwrap_or_default();
    let mut object = existing.clone().unwrap_or_else(|| json!({}));
    // Conflicts: another manager owns a field this apply sets to a different value.
    let mut conflicts = Vec::new();
    for (other, paths) in owners.iter_mut().filter(|(m, _)| m.as_str() != manager) {
        for p in new_paths.iter() {
            if paths.contains(p) && at(&object, p) != at(&applied, p) {
                conflicts.push(format!("{p} (owned by {other})"));
            }
        }
        if force {
            paths.retain(|p| !new_paths.contains(p));
        }
    }
    if !conflicts.is_empty() && !force {
        return (
            409,
            status(
                409,
                "Conflict",
                &format!(
                    "Apply failed with {} conflicts: {}",
                    conflicts.len(),
                    conflicts.join(", ")
                ),
            ),
        );
    }
    // Fields this manager applied before and no longer applies go, unless someone else owns them.
    let previous = owners.get(manager).cloned().unwrap_or_default();
    for p in previous.difference(&new_paths) {
        if !owners.iter().any(|(m, ps)| m != manager && ps.contains(p)) {
            remove_path(&mut object, p);
        }
    }
    let spec_before = object.get("spec").cloned();
    merge(&mut object, &applied);
    let changed = existing
        .as_ref()
        .map(|e| strip(e) != strip(&object))
        .unwrap_or(true);
    let mut version = st.version;
    if changed {
        version += 1;
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        let generation = existing
            .as_ref()
            .and_then(|e| e["metadata"]["generation"].as_i64())
            .unwrap_or(0);
        let bump = existing.is_none() || spec_before != object.get("spec").cloned();
        object["metadata"]["generation"] = json!(if bump { generation + 1 } else { generation });
        if existing.is_none() {
            object["metadata"]["uid"] = json!(format!("uid-{version}"));
            object["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        }
    }
    if !dry_run {
        if changed {
            st.events.push((
                version,
                key.to_string(),
                if existing.is_none() {
                    "ADDED"
                } else {
                    "MODIFIED"
                },
                object.clone(),
            ));
        }
        st.version = version;
        owners.insert(manager.to_string(), new_paths);
        st.owners.insert(key.to_string(), owners);
        st.objects.insert(key.to_string(), object.clone());
    }
    (if existing.is_none() { 201 } else { 200 }, object)
}

fn strip(v: &Value) -> Value {
    let mut c = v.clone();
    for p in SERVER_FIELDS {
        remove_path(&mut c, p);
    }
    c
}
