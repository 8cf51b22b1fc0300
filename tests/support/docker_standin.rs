//! A stand-in for the Docker daemon on a unix socket, for the docker CLI to talk to: it answers
//! the ping and accepts `POST /build`, keeping the build context the CLI uploads (a tar), and
//! replies with a build that succeeded. It builds nothing: the CLI is the oracle of what goes
//! into a context, this only catches what it sends.
//!
//! Also: where to find a docker CLI, and the files of a tar context.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use sha1::{Digest, Sha1};

/// One `POST /build`: its query string and the context it carried.
#[derive(Debug, Clone)]
pub struct Upload {
    pub query: String,
    pub context: Vec<u8>,
}

pub struct DockerStandin {
    dir: tempfile::TempDir,
    uploads: Arc<Mutex<Vec<Upload>>>,
}

impl DockerStandin {
    pub fn start() -> DockerStandin {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = UnixListener::bind(dir.path().join("docker.sock")).expect("bind");
        let uploads = Arc::new(Mutex::new(Vec::new()));
        let kept = uploads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                std::thread::spawn(move || serve(stream, &kept));
            }
        });
        DockerStandin { dir, uploads }
    }

    /// The value for `DOCKER_HOST`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    /// A docker CLI command pointed at this daemon, with a config directory of its own and the
    /// legacy builder (BuildKit would need buildx and a real daemon).
    pub fn cli(&self, docker: &Path) -> Command {
        let mut cmd = Command::new(docker);
        cmd.env("DOCKER_HOST", self.host())
            .env("DOCKER_BUILDKIT", "0")
            .env("DOCKER_CONFIG", self.dir.path().join("config"))
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH");
        cmd
    }

    /// The uploads so far, oldest first, emptied.
    pub fn take(&self) -> Vec<Upload> {
        std::mem::take(&mut *self.uploads.lock().expect("lock"))
    }
}

fn serve(stream: UnixStream, uploads: &Mutex<Vec<Upload>>) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let body = match read_body(&mut reader, &headers) {
            Some(body) => body,
            None => return,
        };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let reply = if path.ends_with("/_ping") {
            ping(method == "GET")
        } else if method == "POST" && path.ends_with("/build") {
            uploads.lock().expect("lock").push(Upload {
                query: query.to_string(),
                context: body,
            });
            built()
        } else {
            let body = format!("{{\"message\":\"the stand-in does not serve {method} {path}\"}}");
            format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
        if headers.get("connection").is_some_and(|c| c == "close") {
            return;
        }
    }
}

/// The request body: chunked (how the CLI streams a context) or of a given length.
fn read_body(reader: &mut impl BufRead, headers: &BTreeMap<String, String>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = size.trim().split(';').next().unwrap_or_default();
            let n = usize::from_str_radix(size, 16).ok()?;
            if n == 0 {
                // Trailers, then the empty line.
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).ok()? == 0 || line.trim().is_empty() {
                        return Some(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + n, 0);
            reader.read_exact(&mut body[start..]).ok()?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).ok()?;
        }
    }
    let n: usize = headers
        .get("content-length")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    body.resize(n, 0);
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

fn ping(with_body: bool) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nOstype: linux\r\nDocker-Experimental: false\r\n\
         Builder-Version: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}",
        if with_body { "OK" } else { "" }
    )
}

fn built() -> String {
    let id = "0".repeat(64);
    let body = format!(
        "{{\"stream\":\"Step 1/1 : FROM scratch\\n\"}}\r\n{{\"aux\":{{\"ID\":\"sha256:{id}\"}}}}\r\n\
         {{\"stream\":\"Successfully built {}\\n\"}}\r\n",
        &id[..12]
    );
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\nOstype: linux\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// What a context holds for one path, as paved's manifest says it: `file`, `executable` or
/// `symlink`, and the git blob id of the content or the link's target.
pub type Listed = BTreeMap<String, (String, String)>;

/// The regular files, hard links and symlinks of a tar context (directories and special
/// files left out).
pub fn tar_files(context: &[u8]) -> Listed {
    let mut out = Listed::new();
    let mut archive = tar::Archive::new(context);
    for entry in archive.entries().expect("a tar context") {
        let mut entry = entry.expect("a tar entry");
        let path = String::from_utf8_lossy(&entry.path_bytes())
            .trim_end_matches('/')
            .to_string();
        let mode = entry.header().mode().unwrap_or(0);
        let kind = if mode & 0o100 != 0 {
            "executable"
        } else {
            "file"
        };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).expect("tar content");
                let mut h = Sha1::new();
                h.update(format!("blob {}\0", bytes.len()).as_bytes());
                h.update(&bytes);
                out.insert(path, (kind.into(), hex::encode(h.finalize())));
            }
            tar::EntryType::Link => {
                let target = String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default())
                    .to_string();
                let id = out
                    .get(&target)
                    .map(|(_, id)| id.clone())
                    .unwrap_or_default();
                out.insert(path, (kind.into(), id));
            }
            tar::EntryType::Symlink => {
                let target = String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default())
                    .to_string();
                out.insert(path, ("symlink".into(), target));
            }
            _ => {}
        }
    }
    out
}

/// A docker CLI to use as the oracle: `PAVED_TEST_DOCKER` if set, else the first of `docker` on
/// the PATH and the one `scripts/testbed/install` extracts that is 23 or later (older ones predate
/// moby/patternmatcher and match differently). Under CI (`CI=true`) finding none fails the test;
/// elsewhere the test is skipped with a note.
pub fn docker_cli() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("PAVED_TEST_DOCKER") {
        Some(given) => vec![PathBuf::from(given)],
        None => {
            let on_path = std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("docker"))
                    .find(|p| p.is_file())
            });
            let cached = std::env::var_os("PAVED_CACHE")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/paved")))
                .map(|c| c.join("docker-cli/usr/bin/docker"));
            on_path.into_iter().chain(cached).collect()
        }
    };
    let mut seen = Vec::new();
    for docker in candidates {
        match cli_major(&docker) {
            Some(major) if major >= 23 => return Some(docker),
            Some(major) => seen.push(format!("{} is docker CLI {major}", docker.display())),
            None => seen.push(format!("{} does not answer --version", docker.display())),
        }
    }
    let problem = format!(
        "no docker CLI 23 or later (PAVED_TEST_DOCKER, PATH, scripts/testbed/install){}",
        if seen.is_empty() {
            String::new()
        } else {
            format!(": {}", seen.join("; "))
        }
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{problem}");
    }
    eprintln!("skipped: {problem}");
    None
}

fn cli_major(docker: &Path) -> Option<u32> {
    let out = Command::new(docker).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "Docker version 28.2.2, build e6534b4"
    let version = text.split_whitespace().nth(2)?;
    version.split('.').next()?.parse().ok()
}
