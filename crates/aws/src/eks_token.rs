//! The bearer token EKS accepts: a presigned STS GetCallerIdentity URL carrying the cluster's
//! name in the signed `x-k8s-aws-id` header, as `k8s-aws-v1.` + unpadded base64url. Signed here
//! with the SDK's SigV4 signer; no aws CLI.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;

/// The header that binds a token to one cluster.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// Token prefix the EKS authenticator looks for.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// How long the presigned URL is valid (EKS caps tokens at 15 minutes from signing).
pub const URL_EXPIRY: Duration = Duration::from_secs(60);
/// How long clients may use a token before asking for a new one.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);

/// A token and when it stops being accepted.
#[derive(Clone)]
pub struct EksToken {
    pub token: String,
    pub expires: SystemTime,
}

impl std::fmt::Debug for EksToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EksToken")
            .field("token", &"***")
            .field("expires", &self.expires)
            .finish()
    }
}

/// Errors signing a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot sign the EKS token: {0}")]
    Sign(String),
}

/// The STS endpoint the token is presigned for.
pub fn sts_url(region: &str) -> String {
    format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15")
}

/// Presign GetCallerIdentity for `cluster` with `credentials` at `now`.
pub fn token(
    cluster: &str,
    region: &str,
    credentials: Credentials,
    now: SystemTime,
) -> Result<EksToken, TokenError> {
    let url = presigned_url(cluster, region, credentials, now)?;
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    );
    Ok(EksToken {
        token,
        expires: now + TOKEN_LIFETIME,
    })
}

/// The presigned URL inside a token.
pub fn presigned_url(
    cluster: &str,
    region: &str,
    credentials: Credentials,
    now: SystemTime,
) -> Result<String, TokenError> {
    let identity: Identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(URL_EXPIRY);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| TokenError::Sign(e.to_string()))?
        .into();
    let url = sts_url(region);
    let headers = [(CLUSTER_ID_HEADER, cluster)];
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| TokenError::Sign(e.to_string()))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| TokenError::Sign(e.to_string()))?
        .into_parts();
    let mut out = url;
    for (name, value) in instructions.params() {
        out.push('&');
        out.push_str(&percent_encode(name));
        out.push('=');
        out.push_str(&percent_encode(value));
    }
    Ok(out)
}

/// RFC 3986 encoding as SigV4 wants it: everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `ExecCredential` kubectl reads from a credential plugin.
pub fn exec_credential(token: &EksToken) -> serde_json::Value {
    let expires = paved_core::timestamp::rfc3339(token.expires);
    serde_json::json!({
        "kind": "ExecCredential",
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "spec": {},
        "status": { "expirationTimestamp": expires, "token": token.token },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn fixed() -> (Credentials, SystemTime) {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        (
            creds,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200),
        )
    }

    fn query(url: &str) -> BTreeMap<String, String> {
        url.split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_token_is_a_prefixed_unpadded_base64url_presigned_sts_url() {
        let (creds, now) = fixed();
        let t = token("hello-blue", "us-east-1", creds.clone(), now).expect("token");
        let body = t.token.strip_prefix(TOKEN_PREFIX).expect("prefix");
        assert!(
            !body.contains('=') && !body.contains('+') && !body.contains('/'),
            "{body}"
        );
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .expect("base64url"),
        )
        .expect("utf8");
        assert_eq!(
            url,
            presigned_url("hello-blue", "us-east-1", creds, now).expect("url")
        );
        assert!(
            url.starts_with(
                "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
            ),
            "{url}"
        );
    }

    #[test]
    fn the_signature_covers_the_cluster_header_and_the_documented_parameters() {
        let (creds, now) = fixed();
        let url = presigned_url("hello-blue", "us-east-1", creds.clone(), now).expect("url");
        let q = query(&url);
        assert_eq!(q["Action"], "GetCallerIdentity");
        assert_eq!(q["Version"], "2011-06-15");
        assert_eq!(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(
            q["X-Amz-Credential"],
            "AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fsts%2Faws4_request"
        );
        assert_eq!(q["X-Amz-Date"], "20240101T000000Z");
        assert_eq!(q["X-Amz-Expires"], "60");
        assert_eq!(q["X-Amz-SignedHeaders"], "host%3Bx-k8s-aws-id");
        let signature = &q["X-Amz-Signature"];
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
        // The signature binds the cluster: another cluster, another signature; same inputs, same one.
        let other =
            query(&presigned_url("hello-green", "us-east-1", creds.clone(), now).expect("url"));
        assert_ne!(&other["X-Amz-Signature"], signature);
        let again = query(&presigned_url("hello-blue", "us-east-1", creds, now).expect("url"));
        assert_eq!(&again["X-Amz-Signature"], signature);
    }

    #[test]
    fn session_tokens_are_signed_in() {
        let (_, now) = fixed();
        let creds = Credentials::new(
            "AKID",
            "secret",
            Some("session/token+x".into()),
            None,
            "test",
        );
        let q = query(&presigned_url("c", "eu-west-1", creds, now).expect("url"));
        assert_eq!(q["X-Amz-Security-Token"], "session%2Ftoken%2Bx");
    }

    #[test]
    fn exec_credential_shape() {
        let (creds, now) = fixed();
        let t = token("c", "us-east-1", creds, now).expect("token");
        let ec = exec_credential(&t);
        assert_eq!(ec["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(ec["status"]["expirationTimestamp"], "2024-01-01T00:14:00Z");
        assert!(
            ec["status"]["token"]
                .as_str()
                .is_some_and(|s| s.starts_with(TOKEN_PREFIX))
        );
    }
}
