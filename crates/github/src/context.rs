//! What a GitHub Actions run tells a step through its environment: the repository, commit, ref,
//! run URL, event payload, API base (GitHub Enterprise Server and test servers set
//! GITHUB_API_URL) and token.

use std::path::PathBuf;

/// The run's context.
#[derive(Clone, Default)]
pub struct Context {
    /// `owner/repo`
    pub repository: String,
    pub sha: String,
    /// `refs/heads/main`, `refs/pull/12/merge`...
    pub git_ref: String,
    pub event_name: String,
    /// The webhook payload that started the run, if readable.
    pub event: Option<serde_json::Value>,
    /// `https://api.github.com` unless GITHUB_API_URL says otherwise.
    pub api_url: String,
    /// The run's page, for log links.
    pub run_url: Option<String>,
    /// GITHUB_TOKEN (or a GitHub App installation token passed the same way).
    pub token: Option<String>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("repository", &self.repository)
            .field("sha", &self.sha)
            .field("git_ref", &self.git_ref)
            .field("event_name", &self.event_name)
            .field("api_url", &self.api_url)
            .field("run_url", &self.run_url)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Context {
    /// Read the context from the process environment; the token is masked in the log.
    pub fn from_env() -> Context {
        let ctx = Context::from_vars(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
        if let Some(t) = &ctx.token {
            paved_actions::mask(t);
        }
        ctx
    }

    /// Read the context through `var` (the environment, or a map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Context {
        let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let repository = var("GITHUB_REPOSITORY").unwrap_or_default();
        let run_url = var("GITHUB_RUN_ID").map(|id| {
            let attempt = var("GITHUB_RUN_ATTEMPT")
                .map(|a| format!("/attempts/{a}"))
                .unwrap_or_default();
            format!(
                "{}/{repository}/actions/runs/{id}{attempt}",
                server.trim_end_matches('/')
            )
        });
        let event = var("GITHUB_EVENT_PATH")
            .map(PathBuf::from)
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|text| serde_json::from_str(&text).ok());
        Context {
            sha: var("GITHUB_SHA").unwrap_or_default(),
            git_ref: var("GITHUB_REF").unwrap_or_default(),
            event_name: var("GITHUB_EVENT_NAME").unwrap_or_default(),
            api_url: var("GITHUB_API_URL")
                .unwrap_or_else(|| "https://api.github.com".into())
                .trim_end_matches('/')
                .to_string(),
            token: var("GITHUB_TOKEN").or_else(|| var("GH_TOKEN")),
            repository,
            run_url,
            event,
        }
    }

    /// The pull request the event is about, if any (pull_request events carry it).
    pub fn pull_request(&self) -> Option<u64> {
        let event = self.event.as_ref()?;
        event["pull_request"]["number"].as_u64().or_else(|| {
            event["number"]
                .as_u64()
                .filter(|_| self.event_name.starts_with("pull_request"))
        })
    }

    /// For a pull request, the head commit (GITHUB_SHA is the merge commit there).
    pub fn head_sha(&self) -> &str {
        self.event
            .as_ref()
            .and_then(|e| e["pull_request"]["head"]["sha"].as_str())
            .unwrap_or(&self.sha)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn ctx(vars: &[(&str, &str)]) -> Context {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Context::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn reads_the_run_and_builds_its_url() {
        let c = ctx(&[
            ("GITHUB_REPOSITORY", "acme/hello"),
            ("GITHUB_SHA", "abc123"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_SERVER_URL", "https://github.example.com"),
            ("GITHUB_API_URL", "https://github.example.com/api/v3/"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_TOKEN", "ghs_secret"),
        ]);
        assert_eq!(c.repository, "acme/hello");
        assert_eq!(c.api_url, "https://github.example.com/api/v3");
        assert_eq!(
            c.run_url.as_deref(),
            Some("https://github.example.com/acme/hello/actions/runs/42/attempts/2")
        );
        assert_eq!(c.token.as_deref(), Some("ghs_secret"));
        assert!(
            !format!("{c:?}").contains("ghs_secret"),
            "the token never prints"
        );
        assert_eq!(c.pull_request(), None);
        assert_eq!(c.head_sha(), "abc123");
    }

    #[test]
    fn defaults_to_github_dot_com() {
        let c = ctx(&[]);
        assert_eq!(c.api_url, "https://api.github.com");
        assert_eq!(c.run_url, None);
    }

    #[test]
    fn pull_request_events_name_the_pull_request_and_its_head() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("event.json");
        std::fs::write(
            &path,
            r#"{"number": 7, "pull_request": {"number": 7, "head": {"sha": "headsha"}}}"#,
        )
        .expect("event");
        let c = ctx(&[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_SHA", "mergesha"),
            ("GITHUB_EVENT_PATH", path.to_str().expect("path")),
        ]);
        assert_eq!(c.pull_request(), Some(7));
        assert_eq!(c.head_sha(), "headsha");
    }
}
