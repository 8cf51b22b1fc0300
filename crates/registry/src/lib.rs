//! A client of the OCI distribution API (what ECR, GHCR, Docker Hub and the CNCF registry
//! speak): manifests and blobs by digest, monolithic blob upload, bearer-token challenges.

pub mod reference;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

pub use reference::Reference;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Errors from a registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached.
    #[error("cannot reach registry {host}: {source}")]
    Unreachable {
        host: String,
        source: reqwest::Error,
    },
    /// The registry refused a request.
    #[error("registry {host}: {method} {path} returned {status}: {body}")]
    Refused {
        host: String,
        method: String,
        path: String,
        status: u16,
        body: String,
    },
    /// The registry answered something that breaks the protocol (a digest that does not match).
    #[error("registry {host}: {0}", host = .1)]
    Protocol(String, String),
}

impl RegistryError {
    /// The distribution API error codes in a refusal body (`TAG_INVALID`, `MANIFEST_INVALID`...).
    pub fn codes(&self) -> Vec<String> {
        match self {
            RegistryError::Refused { body, .. } => serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("errors").and_then(|e| e.as_array()).cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|e| e.get("code").and_then(|c| c.as_str()).map(String::from))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How to authenticate.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Anonymous => f.write_str("Anonymous"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
        }
    }
}

/// The sha256 digest of some bytes, as the registry writes it.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A manifest as fetched: its bytes, media type and digest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: String,
}

/// One registry host.
#[derive(Debug)]
pub struct Registry {
    http: reqwest::Client,
    /// `http://127.0.0.1:5000` or `https://123456789012.dkr.ecr.us-east-1.amazonaws.com`
    base: String,
    host: String,
    auth: Auth,
    /// A bearer token obtained from the registry's challenge, reused until refused.
    token: Mutex<Option<String>>,
}

impl Registry {
    /// `host` may carry a scheme; without one, loopback hosts get http and the rest https.
    pub fn new(host: &str, auth: Auth) -> Self {
        let (base, host) = match host.split_once("://") {
            Some((_, rest)) => (
                host.trim_end_matches('/').to_string(),
                rest.trim_end_matches('/').to_string(),
            ),
            None => {
                let plain = host.starts_with("127.")
                    || host.starts_with("localhost")
                    || host.starts_with("[::1]");
                let scheme = if plain { "http" } else { "https" };
                (format!("{scheme}://{host}"), host.to_string())
            }
        };
        Registry {
            http: reqwest::Client::builder()
                .user_agent(concat!("paved/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
            base,
            host,
            auth,
            token: Mutex::new(None),
        }
    }

    fn unreachable(&self, source: reqwest::Error) -> RegistryError {
        RegistryError::Unreachable {
            host: self.host.clone(),
            source,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Send a request, answering a bearer challenge once if the registry asks for one.
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response, RegistryError> {
        for attempt in 0..2 {
            let mut req = self
                .http
                .request(method.clone(), url)
                .headers(headers.clone());
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let token = self.token.lock().await.clone();
            req = match (&token, &self.auth) {
                (Some(t), _) => req.header(AUTHORIZATION, format!("Bearer {t}")),
                (None, Auth::Basic { username, password }) => {
                    req.basic_auth(username, Some(password))
                }
                (None, Auth::Anonymous) => req,
            };
            let resp = req.send().await.map_err(|e| self.unreachable(e))?;
            if resp.status() == StatusCode::UNAUTHORIZED
                && attempt == 0
                && let Some(challenge) = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                && let Some(t) = self.bearer_token(challenge).await?
            {
                *self.token.lock().await = Some(t);
                continue;
            }
            return Ok(resp);
        }
        unreachable!("the loop returns on its second pass")
    }

    /// Follow a `Bearer realm=...,service=...,scope=...` challenge to a token.
    async fn bearer_token(&self, challenge: &str) -> Result<Option<String>, RegistryError> {
        let Some(params) = challenge.strip_prefix("Bearer ") else {
            return Ok(None);
        };
        let mut realm = None;
        let mut query = Vec::new();
        for part in split_challenge(params) {
            if let Some((k, v)) = part.split_once('=') {
                let v = v.trim_matches('"').to_string();
                match k.trim() {
                    "realm" => realm = Some(v),
                    key @ ("service" | "scope") => query.push((key.to_string(), v)),
                    _ => {}
                }
            }
        }
        let Some(realm) = realm else { return Ok(None) };
        let mut req = self.http.get(&realm).query(&query);
        if let Auth::Basic { username, password } = &self.auth {
            req = req.basic_auth(username, Some(password));
        }
        let resp = req.send().await.map_err(|e| self.unreachable(e))?;
        if !resp.status().is_success() {
            return Ok(None);
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        Ok(body
            .get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .map(String::from))
    }

    async fn refused(&self, method: &str, path: &str, resp: reqwest::Response) -> RegistryError {
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        RegistryError::Refused {
            host: self.host.clone(),
            method: method.into(),
            path: path.into(),
            status,
            body: body.chars().take(500).collect(),
        }
    }

    fn accept_manifests() -> HeaderMap {
        let mut h = HeaderMap::new();
        let accept = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(", ");
        if let Ok(v) = accept.parse() {
            h.insert(ACCEPT, v);
        }
        h
    }

    /// A bodiless request to `path`; returns the path too, for error messages.
    async fn request(
        &self,
        method: Method,
        path: String,
        headers: HeaderMap,
    ) -> Result<(String, reqwest::Response), RegistryError> {
        let resp = self
            .send(method, &format!("{}{path}", self.base), headers, None)
            .await?;
        Ok((path, resp))
    }

    /// A manifest request accepting every manifest type.
    async fn manifest_request(
        &self,
        method: Method,
        repo: &str,
        reference: &str,
    ) -> Result<(String, reqwest::Response), RegistryError> {
        self.request(
            method,
            format!("/v2/{repo}/manifests/{reference}"),
            Self::accept_manifests(),
        )
        .await
    }

    /// The whole body of a response.
    async fn body(&self, resp: reqwest::Response) -> Result<Vec<u8>, RegistryError> {
        Ok(resp
            .bytes()
            .await
            .map_err(|e| self.unreachable(e))?
            .to_vec())
    }

    /// The digest of `repo:reference` if the registry has it: one HEAD request.
    pub async fn manifest_digest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        let (path, resp) = self.manifest_request(Method::HEAD, repo, reference).await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(String::from)),
            _ => Err(self.refused("HEAD", &path, resp).await),
        }
    }

    /// Fetch a manifest (or index) by tag or digest; `None` if there is none.
    pub async fn manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let (path, resp) = self.manifest_request(Method::GET, repo, reference).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.refused("GET", &path, resp).await);
        }
        let media_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(OCI_MANIFEST)
            .to_string();
        let bytes = self.body(resp).await?;
        let digest = sha256_digest(&bytes);
        if reference.starts_with("sha256:") && reference != digest {
            return Err(RegistryError::Protocol(
                format!("manifest {reference} has digest {digest}"),
                self.host.clone(),
            ));
        }
        Ok(Some(Manifest {
            bytes,
            media_type,
            digest,
        }))
    }

    /// Fetch a blob, checking its digest.
    pub async fn blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>, RegistryError> {
        let (path, resp) = self
            .request(
                Method::GET,
                format!("/v2/{repo}/blobs/{digest}"),
                HeaderMap::new(),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.refused("GET", &path, resp).await);
        }
        let bytes = self.body(resp).await?;
        if sha256_digest(&bytes) != digest {
            return Err(RegistryError::Protocol(
                format!("blob {digest} does not match its digest"),
                self.host.clone(),
            ));
        }
        Ok(bytes)
    }

    pub async fn has_blob(&self, repo: &str, digest: &str) -> Result<bool, RegistryError> {
        let (path, resp) = self
            .request(
                Method::HEAD,
                format!("/v2/{repo}/blobs/{digest}"),
                HeaderMap::new(),
            )
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            _ => Err(self.refused("HEAD", &path, resp).await),
        }
    }

    /// Upload a blob unless the registry already has it: POST an upload, PUT the bytes with
    /// their digest (a monolithic upload).
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> Result<String, RegistryError> {
        let digest = sha256_digest(bytes);
        if self.has_blob(repo, &digest).await? {
            return Ok(digest);
        }
        let path = format!("/v2/{repo}/blobs/uploads/");
        let resp = self
            .send(
                Method::POST,
                &format!("{}{path}", self.base),
                HeaderMap::new(),
                Some(Vec::new()),
            )
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.refused("POST", &path, resp).await);
        }
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                RegistryError::Protocol("upload without a Location".into(), self.host.clone())
            })?;
        let mut url = if location.starts_with("http") {
            location.to_string()
        } else {
            format!("{}{location}", self.base)
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={digest}"));
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/octet-stream"),
        );
        let resp = self
            .send(Method::PUT, &url, headers, Some(bytes.to_vec()))
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.refused("PUT", "(upload)", resp).await);
        }
        Ok(digest)
    }

    /// Put a manifest under a tag (or digest); returns its digest.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let mut headers = HeaderMap::new();
        if let Ok(v) = media_type.parse() {
            headers.insert(CONTENT_TYPE, v);
        }
        let resp = self
            .send(
                Method::PUT,
                &format!("{}{path}", self.base),
                headers,
                Some(bytes.to_vec()),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.refused("PUT", &path, resp).await);
        }
        Ok(sha256_digest(bytes))
    }
}

/// Split `a="x,y",b=z` at the commas outside quotes.
fn split_challenge(params: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in params.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&params[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&params[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_split_outside_quotes() {
        let parts = split_challenge(
            r#"realm="https://auth.example/token",service="registry",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], r#"scope="repository:a/b:pull,push""#);
    }

    #[test]
    fn loopback_registries_are_plain_http() {
        assert_eq!(
            Registry::new("127.0.0.1:5000", Auth::Anonymous).base,
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            Registry::new("123.dkr.ecr.us-east-1.amazonaws.com", Auth::Anonymous).base,
            "https://123.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(
            Registry::new("http://reg.internal:5000/", Auth::Anonymous).host(),
            "reg.internal:5000"
        );
    }
}
