//! GitHub's REST API, as much as paved writes to it: deployments and their statuses, and the one
//! pull-request comment per app. Requests retry where GitHub says to (Retry-After, secondary rate
//! limits, 5xx) and fail with messages that say what to fix.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::context::Context;

/// Errors from GitHub.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// No token in the environment.
    #[error(
        "no GitHub token: set GITHUB_TOKEN (the workflow's token, or a GitHub App installation token)"
    )]
    NoToken,
    /// Outside Actions nothing names the repository.
    #[error("no GitHub repository: set GITHUB_REPOSITORY to owner/repo")]
    NoRepository,
    #[error("GitHub rejected the token (401): it is missing, expired or revoked")]
    Unauthorized,
    #[error(
        "GitHub refused {what} (403): {message}; the workflow needs the permission (deployments: write, pull-requests: write)"
    )]
    Forbidden { what: String, message: String },
    #[error("GitHub has no {what} (404): {message}")]
    NotFound { what: String, message: String },
    #[error("GitHub could not process {what} (422): {message}")]
    Invalid { what: String, message: String },
    #[error("GitHub answered {status} to {what}: {message}")]
    Other {
        what: String,
        status: u16,
        message: String,
    },
    #[error("cannot reach GitHub at {api}: {source}")]
    Unreachable { api: String, source: reqwest::Error },
}

/// One deployment as history shows it: its latest status and what it deployed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub id: u64,
    pub created_at: String,
    pub sha: String,
    pub state: String,
    pub payload: Value,
}

/// A client for one repository.
pub struct GitHub {
    http: reqwest::Client,
    api: String,
    repo: String,
    token: String,
}

/// The marker that identifies paved's comment for one app.
pub fn comment_marker(app: &str) -> String {
    format!("<!-- paved:{app} -->")
}

impl GitHub {
    pub fn new(ctx: &Context) -> Result<GitHub, GitHubError> {
        let token = ctx.token.clone().ok_or(GitHubError::NoToken)?;
        // owner/repo, or every path would be `/repos//...`.
        if ctx.repository.split('/').filter(|p| !p.is_empty()).count() != 2 {
            return Err(GitHubError::NoRepository);
        }
        Ok(GitHub {
            http: reqwest::Client::builder()
                .user_agent(concat!("paved/", env!("CARGO_PKG_VERSION")))
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            api: ctx.api_url.clone(),
            repo: ctx.repository.clone(),
            token,
        })
    }

    /// One call, retried on rate limits and server errors (at most 4 tries).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, GitHubError> {
        let url = format!("{}{path}", self.api);
        let mut delay = Duration::from_secs(1);
        for attempt in 1..=4 {
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.token)
                .header("accept", "application/json")
                .header("x-github-api-version", "2022-11-28");
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .map_err(|source| GitHubError::Unreachable {
                    api: self.api.clone(),
                    source,
                })?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_secs);
            let exhausted = resp
                .headers()
                .get("x-ratelimit-remaining")
                .and_then(|v| v.to_str().ok())
                == Some("0");
            let text = resp.text().await.unwrap_or_default();
            if status.is_success() {
                return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
            }
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["message"].as_str().map(String::from))
                .unwrap_or_else(|| text.chars().take(200).collect());
            let retryable = status.is_server_error()
                || status == StatusCode::TOO_MANY_REQUESTS
                || (status == StatusCode::FORBIDDEN
                    && (retry_after.is_some()
                        || exhausted
                        || message.contains("secondary rate limit")));
            if retryable && attempt < 4 {
                let wait = retry_after.unwrap_or(delay).min(Duration::from_secs(60));
                tracing::warn!(
                    "GitHub answered {status} to {what}; retrying in {}s",
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
                delay *= 2;
                continue;
            }
            let what = what.to_string();
            return Err(match status.as_u16() {
                401 => GitHubError::Unauthorized,
                403 => GitHubError::Forbidden { what, message },
                404 => GitHubError::NotFound { what, message },
                422 => GitHubError::Invalid { what, message },
                s => GitHubError::Other {
                    what,
                    status: s,
                    message,
                },
            });
        }
        unreachable!("the last attempt returns")
    }

    /// Create a deployment of `sha` in `environment`; returns its id.
    pub async fn create_deployment(
        &self,
        sha: &str,
        environment: &str,
        production: bool,
        description: &str,
        payload: &Value,
    ) -> Result<u64, GitHubError> {
        let body = json!({
            "ref": sha,
            "environment": environment,
            "description": description,
            "payload": payload,
            "auto_merge": false,
            "required_contexts": [],
            "transient_environment": false,
            "production_environment": production,
        });
        let created = self
            .call(
                Method::POST,
                &format!("/repos/{}/deployments", self.repo),
                Some(&body),
                "creating a deployment",
            )
            .await?;
        Ok(created["id"].as_u64().unwrap_or_default())
    }

    /// Add a status to a deployment. `success` marks the environment's earlier deployments
    /// inactive (auto_inactive).
    pub async fn create_status(
        &self,
        id: u64,
        state: &str,
        description: &str,
        environment_url: Option<&str>,
        log_url: Option<&str>,
    ) -> Result<(), GitHubError> {
        let mut body = json!({ "state": state, "description": description.chars().take(140).collect::<String>(), "auto_inactive": true });
        if let Some(u) = environment_url {
            body["environment_url"] = json!(u);
        }
        if let Some(u) = log_url {
            body["log_url"] = json!(u);
        }
        self.call(
            Method::POST,
            &format!("/repos/{}/deployments/{id}/statuses", self.repo),
            Some(&body),
            "a deployment status",
        )
        .await?;
        Ok(())
    }

    /// The deployments of an environment, newest first.
    pub async fn deployments(&self, environment: &str) -> Result<Vec<Value>, GitHubError> {
        let listed = self
            .call(
                Method::GET,
                &format!(
                    "/repos/{}/deployments?environment={environment}&per_page=100",
                    self.repo
                ),
                None,
                "listing deployments",
            )
            .await?;
        Ok(listed.as_array().cloned().unwrap_or_default())
    }

    /// paved's comments for `app` on a pull request (one, unless two jobs created it at once),
    /// oldest first: id and body. Reads every page, so a long discussion does not hide them.
    pub async fn find_comments(
        &self,
        pull: u64,
        app: &str,
    ) -> Result<Vec<(u64, String)>, GitHubError> {
        let marker = comment_marker(app);
        let mut found = Vec::new();
        for page in 1.. {
            let comments = self
                .call(
                    Method::GET,
                    &format!(
                        "/repos/{}/issues/{pull}/comments?per_page=100&page={page}",
                        self.repo
                    ),
                    None,
                    "reading the pull request's comments",
                )
                .await?;
            let list = comments.as_array().cloned().unwrap_or_default();
            found.extend(list.iter().filter_map(|c| {
                let body = c["body"].as_str()?;
                body.starts_with(&marker)
                    .then(|| (c["id"].as_u64().unwrap_or_default(), body.to_string()))
            }));
            if list.len() < 100 {
                break;
            }
        }
        Ok(found)
    }

    /// Write paved's comment for `app`: update comment `existing`, or create one.
    pub async fn save_comment(
        &self,
        pull: u64,
        existing: Option<u64>,
        app: &str,
        markdown: &str,
    ) -> Result<u64, GitHubError> {
        let body = json!({ "body": format!("{}\n{markdown}", comment_marker(app)) });
        let saved = match existing {
            Some(id) => {
                self.call(
                    Method::PATCH,
                    &format!("/repos/{}/issues/comments/{id}", self.repo),
                    Some(&body),
                    "updating the comment",
                )
                .await?
            }
            None => {
                self.call(
                    Method::POST,
                    &format!("/repos/{}/issues/{pull}/comments", self.repo),
                    Some(&body),
                    "commenting",
                )
                .await?
            }
        };
        Ok(saved["id"].as_u64().unwrap_or_default())
    }

    /// Keep one comment per app on a pull request: update the one carrying the marker, or create it.
    pub async fn upsert_comment(
        &self,
        pull: u64,
        app: &str,
        markdown: &str,
    ) -> Result<u64, GitHubError> {
        let existing = self.find_comments(pull, app).await?.first().map(|c| c.0);
        self.save_comment(pull, existing, app, markdown).await
    }

    /// Delete a comment (a duplicate of paved's).
    pub async fn delete_comment(&self, id: u64) -> Result<(), GitHubError> {
        self.call(
            Method::DELETE,
            &format!("/repos/{}/issues/comments/{id}", self.repo),
            None,
            "deleting a duplicate comment",
        )
        .await?;
        Ok(())
    }

    /// The pull requests a commit belongs to (after a merge, the merged one).
    pub async fn commit_pulls(&self, sha: &str) -> Result<Vec<u64>, GitHubError> {
        let listed = self
            .call(
                Method::GET,
                &format!("/repos/{}/commits/{sha}/pulls", self.repo),
                None,
                "finding the commit's pull requests",
            )
            .await?;
        Ok(listed
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["number"].as_u64())
            .collect())
    }

    /// One deployment.
    pub async fn deployment(&self, id: u64) -> Result<Value, GitHubError> {
        self.call(
            Method::GET,
            &format!("/repos/{}/deployments/{id}", self.repo),
            None,
            "reading the deployment",
        )
        .await
    }

    /// An environment's deployments with their latest state, newest first (whatever order the
    /// API used).
    pub async fn history(&self, environment: &str) -> Result<Vec<Entry>, GitHubError> {
        let mut out = Vec::new();
        for d in self.deployments(environment).await? {
            out.push(self.entry(&d).await?);
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// The environment's newest deployment with its latest state (GitHub lists newest first),
    /// in two requests whatever the history's length.
    pub async fn latest(&self, environment: &str) -> Result<Option<Entry>, GitHubError> {
        let listed = self
            .call(
                Method::GET,
                &format!(
                    "/repos/{}/deployments?environment={environment}&per_page=1",
                    self.repo
                ),
                None,
                "reading the latest deployment",
            )
            .await?;
        match listed.as_array().and_then(|a| a.first()) {
            Some(d) => Ok(Some(self.entry(d).await?)),
            None => Ok(None),
        }
    }

    /// A listed deployment with the state of its latest status.
    async fn entry(&self, d: &Value) -> Result<Entry, GitHubError> {
        let id = d["id"].as_u64().unwrap_or_default();
        let statuses = self.statuses(id).await?;
        Ok(Entry {
            id,
            created_at: d["created_at"].as_str().unwrap_or_default().to_string(),
            sha: d["sha"].as_str().unwrap_or_default().to_string(),
            state: statuses
                .first()
                .and_then(|s| s["state"].as_str())
                .unwrap_or("pending")
                .to_string(),
            payload: d["payload"].clone(),
        })
    }

    /// A deployment's statuses, newest first.
    pub async fn statuses(&self, id: u64) -> Result<Vec<Value>, GitHubError> {
        let listed = self
            .call(
                Method::GET,
                &format!(
                    "/repos/{}/deployments/{id}/statuses?per_page=100",
                    self.repo
                ),
                None,
                "reading deployment statuses",
            )
            .await?;
        Ok(listed.as_array().cloned().unwrap_or_default())
    }

    /// Delete a deployment (GitHub requires it to be inactive first).
    pub async fn delete_deployment(&self, id: u64) -> Result<(), GitHubError> {
        self.call(
            Method::DELETE,
            &format!("/repos/{}/deployments/{id}", self.repo),
            None,
            "deleting a deployment",
        )
        .await?;
        Ok(())
    }
}
