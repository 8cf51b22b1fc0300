//! GitHub's REST API, as much as paved writes to it: deployments and their statuses, and the one
//! pull-request comment per app, through octocrab (routes, authentication, the GHES base URL,
//! `Link` pagination, GitHub's error bodies and headers).
//!
//! What is paved's own: the retry of rate limits (Retry-After, `x-ratelimit-remaining: 0`,
//! secondary limits and 5xx, at most 4 tries, no wait over 60 s: octocrab's own retry layer would
//! retry a POST that may have created a deployment, at once, and wait out any reset however far),
//! the slim response types (only the fields paved reads, each required, so a response without an
//! id is an error, never deployment 0), and the messages that say what to fix. Comment updates are
//! PATCHed as GitHub documents (octocrab's typed `update_comment` sends POST).

use std::time::Duration;

use http::StatusCode;
use octocrab::{FromResponse, Octocrab, Page};
use paved_wait::{Attempt, Backoff};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

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
    /// The API URL (GITHUB_API_URL) is not a URL.
    #[error("GITHUB_API_URL `{api}` is not a URL: {source}")]
    BadApiUrl {
        api: String,
        #[source]
        source: Box<octocrab::Error>,
    },
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
    /// GitHub answered, but not with what paved reads (a field missing or of another type).
    #[error("GitHub's answer to {what} is not what paved expects: {source}")]
    Unexpected {
        what: String,
        #[source]
        source: Box<octocrab::Error>,
    },
    #[error("cannot reach GitHub at {api} for {what}")]
    Unreachable {
        api: String,
        what: String,
        #[source]
        source: Box<octocrab::Error>,
    },
}

/// A deployment, as far as paved reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// What paved put there: app, color, image, hashes, strategy.
    #[serde(default)]
    pub payload: Value,
}

/// One status of a deployment.
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentStatus {
    pub id: u64,
    pub state: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub environment_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PullRequestRef {
    number: u64,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: u64,
}

/// One deployment as history shows it: its latest status and what it deployed.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub sha: String,
    pub state: String,
    pub payload: Value,
}

/// A client for one repository.
pub struct GitHub {
    client: Octocrab,
    api: String,
    repo: String,
}

/// The marker that identifies paved's comment for one app.
pub fn comment_marker(app: &str) -> String {
    format!("<!-- paved:{app} -->")
}

/// GitHub's rate limits and server errors: four tries, none more than a minute apart.
const RETRIES: Backoff = Backoff {
    first: Duration::from_secs(1),
    max: Duration::from_secs(60),
    attempts: 4,
};

/// A request in flight: what it is for people, and how to send it again.
enum Call<'a> {
    Get(&'a str, Option<&'a [(&'a str, String)]>),
    Post(&'a str, &'a Value),
    Patch(&'a str, &'a Value),
}

impl GitHub {
    pub fn new(ctx: &Context) -> Result<GitHub, GitHubError> {
        let token = ctx.token.clone().ok_or(GitHubError::NoToken)?;
        // owner/repo, or every path would be `/repos//...`.
        if ctx.repository.split('/').filter(|p| !p.is_empty()).count() != 2 {
            return Err(GitHubError::NoRepository);
        }
        let bad_url = |source| GitHubError::BadApiUrl {
            api: ctx.api_url.clone(),
            source: Box::new(source),
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("paved/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        let client = Octocrab::builder()
            .personal_token(token)
            .base_uri(ctx.api_url.as_str())
            .map_err(bad_url)?
            // The media type GitHub's OpenAPI description gives its answers (GitHub also takes
            // application/vnd.github+json).
            .add_header(http::header::ACCEPT, "application/json".into())
            .build_with_reqwest(http)
            .map_err(bad_url)?;
        Ok(GitHub {
            client,
            api: ctx.api_url.clone(),
            repo: ctx.repository.clone(),
        })
    }

    /// One call, tried again on rate limits and server errors.
    async fn call<R: FromResponse>(&self, call: Call<'_>, what: &str) -> Result<R, GitHubError> {
        paved_wait::retry(what, RETRIES, |_| async {
            let sent = match &call {
                Call::Get(route, query) => self.client.get(route, *query).await,
                Call::Post(route, body) => self.client.post(route, Some(*body)).await,
                Call::Patch(route, body) => self.client.patch(route, Some(*body)).await,
            };
            self.outcome(sent, what)
        })
        .await
    }

    /// A DELETE, tried again as [`Self::call`] does; GitHub's 204 has no body to read.
    async fn delete(&self, route: &str, what: &str) -> Result<(), GitHubError> {
        paved_wait::retry(what, RETRIES, |_| async {
            let sent = match self.client._delete(route, None::<&()>).await {
                Ok(answer) => octocrab::map_github_error(answer).await.map(drop),
                Err(e) => Err(e),
            };
            self.outcome(sent, what)
        })
        .await
    }

    fn outcome<R>(&self, sent: Result<R, octocrab::Error>, what: &str) -> Attempt<R, GitHubError> {
        match sent {
            Ok(v) => Attempt::Done(v),
            Err(e) => self.classify(e, what),
        }
    }

    /// What a failed call means: a limit to wait out, or an error that says what to fix.
    fn classify<R>(&self, e: octocrab::Error, what: &str) -> Attempt<R, GitHubError> {
        let octocrab::Error::GitHub { source, .. } = &e else {
            return Attempt::Failed(match e {
                e @ (octocrab::Error::Serde { .. } | octocrab::Error::Json { .. }) => {
                    GitHubError::Unexpected {
                        what: what.into(),
                        source: Box::new(e),
                    }
                }
                source => GitHubError::Unreachable {
                    api: self.api.clone(),
                    what: what.into(),
                    source: Box::new(source),
                },
            });
        };
        let status = source.status_code;
        let header = |name: &str| {
            source
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after")
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let exhausted = header("x-ratelimit-remaining").as_deref() == Some("0");
        let message = source.message.clone();
        let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::FORBIDDEN
                && (retry_after.is_some()
                    || exhausted
                    || message.contains("secondary rate limit")));
        let what = what.to_string();
        let error = match status.as_u16() {
            401 => GitHubError::Unauthorized,
            403 => GitHubError::Forbidden { what, message },
            404 => GitHubError::NotFound { what, message },
            422 => GitHubError::Invalid { what, message },
            s => GitHubError::Other {
                what,
                status: s,
                message,
            },
        };
        if rate_limited || status.is_server_error() {
            Attempt::Again {
                error,
                after: retry_after,
            }
        } else {
            Attempt::Failed(error)
        }
    }

    /// Every page of a listing, following GitHub's `Link` headers.
    async fn all<R: DeserializeOwned>(
        &self,
        route: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Vec<R>, GitHubError> {
        let mut page: Page<R> = self.call(Call::Get(route, Some(query)), what).await?;
        let mut items = page.take_items();
        while let Some(next) = page.next.take() {
            // The token goes to the API's own host only; a next page elsewhere is not followed.
            if !self.same_origin(&next) {
                tracing::warn!(
                    "{what}: the next page is at {next}, outside {}: not read",
                    self.api
                );
                break;
            }
            page = self.call(Call::Get(&next.to_string(), None), what).await?;
            items.append(&mut page.take_items());
        }
        Ok(items)
    }

    fn same_origin(&self, uri: &http::Uri) -> bool {
        let Ok(api) = self.api.parse::<http::Uri>() else {
            return false;
        };
        uri.scheme() == api.scheme() && uri.authority() == api.authority()
    }

    fn route(&self, rest: &str) -> String {
        format!("/repos/{}/{rest}", self.repo)
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
        let created: Created = self
            .call(
                Call::Post(&self.route("deployments"), &body),
                "creating a deployment",
            )
            .await?;
        Ok(created.id)
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
        // GitHub refuses a description over 140 characters.
        let description: String = description.chars().take(140).collect();
        let mut body = json!({ "state": state, "description": description, "auto_inactive": true });
        if let Some(u) = environment_url {
            body["environment_url"] = json!(u);
        }
        if let Some(u) = log_url {
            body["log_url"] = json!(u);
        }
        let _: Created = self
            .call(
                Call::Post(&self.route(&format!("deployments/{id}/statuses")), &body),
                "a deployment status",
            )
            .await?;
        Ok(())
    }

    /// The deployments of an environment, newest first (every page).
    pub async fn deployments(&self, environment: &str) -> Result<Vec<Deployment>, GitHubError> {
        self.all(
            &self.route("deployments"),
            &[
                ("environment", environment.to_string()),
                ("per_page", "100".into()),
            ],
            "listing deployments",
        )
        .await
    }

    /// paved's comments for `app` on a pull request (one, unless two jobs created it at once),
    /// oldest first: id and body. Reads every page, so a long discussion does not hide them.
    pub async fn find_comments(
        &self,
        pull: u64,
        app: &str,
    ) -> Result<Vec<(u64, String)>, GitHubError> {
        let marker = comment_marker(app);
        let comments: Vec<Comment> = self
            .all(
                &self.route(&format!("issues/{pull}/comments")),
                &[("per_page", "100".into())],
                "reading the pull request's comments",
            )
            .await?;
        Ok(comments
            .into_iter()
            .filter_map(|c| {
                let body = c.body?;
                body.starts_with(&marker).then_some((c.id, body))
            })
            .collect())
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
        let saved: Created = match existing {
            Some(id) => {
                self.call(
                    Call::Patch(&self.route(&format!("issues/comments/{id}")), &body),
                    "updating the comment",
                )
                .await?
            }
            None => {
                self.call(
                    Call::Post(&self.route(&format!("issues/{pull}/comments")), &body),
                    "commenting",
                )
                .await?
            }
        };
        Ok(saved.id)
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
        self.delete(
            &self.route(&format!("issues/comments/{id}")),
            "deleting a duplicate comment",
        )
        .await
    }

    /// The pull requests a commit belongs to (after a merge, the merged one).
    pub async fn commit_pulls(&self, sha: &str) -> Result<Vec<u64>, GitHubError> {
        let pulls: Vec<PullRequestRef> = self
            .all(
                &self.route(&format!("commits/{sha}/pulls")),
                &[("per_page", "100".into())],
                "finding the commit's pull requests",
            )
            .await?;
        Ok(pulls.into_iter().map(|p| p.number).collect())
    }

    /// One deployment.
    pub async fn deployment(&self, id: u64) -> Result<Deployment, GitHubError> {
        self.call(
            Call::Get(&self.route(&format!("deployments/{id}")), None),
            "reading the deployment",
        )
        .await
    }

    /// An environment's deployments with their latest state, newest first (whatever order the
    /// API used).
    pub async fn history(&self, environment: &str) -> Result<Vec<Entry>, GitHubError> {
        let mut out = Vec::new();
        for d in self.deployments(environment).await? {
            out.push(self.entry(d).await?);
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// The environment's newest deployment with its latest state (GitHub lists newest first),
    /// in two requests whatever the history's length.
    pub async fn latest(&self, environment: &str) -> Result<Option<Entry>, GitHubError> {
        let listed: Vec<Deployment> = self
            .call(
                Call::Get(
                    &self.route("deployments"),
                    Some(&[
                        ("environment", environment.to_string()),
                        ("per_page", "1".into()),
                    ]),
                ),
                "reading the latest deployment",
            )
            .await?;
        match listed.into_iter().next() {
            Some(d) => Ok(Some(self.entry(d).await?)),
            None => Ok(None),
        }
    }

    /// A listed deployment with the state of its latest status.
    async fn entry(&self, d: Deployment) -> Result<Entry, GitHubError> {
        let statuses = self.statuses(d.id).await?;
        Ok(Entry {
            id: d.id,
            created_at: d.created_at,
            sha: d.sha,
            state: statuses
                .first()
                .map_or_else(|| "pending".to_string(), |s| s.state.clone()),
            payload: d.payload,
        })
    }

    /// A deployment's statuses, newest first.
    pub async fn statuses(&self, id: u64) -> Result<Vec<DeploymentStatus>, GitHubError> {
        self.all(
            &self.route(&format!("deployments/{id}/statuses")),
            &[("per_page", "100".into())],
            "reading deployment statuses",
        )
        .await
    }

    /// Delete a deployment (GitHub requires it to be inactive first).
    pub async fn delete_deployment(&self, id: u64) -> Result<(), GitHubError> {
        self.delete(
            &self.route(&format!("deployments/{id}")),
            "deleting a deployment",
        )
        .await
    }
}
