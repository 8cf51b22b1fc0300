//! AWS settings that point the library's own SdkConfig builder at the test bed's moto server.

use aws_credential_types::Credentials;
use paved::aws::AwsArgs;

/// `AwsArgs` for moto at `endpoint` with fixed test credentials.
pub fn moto_args(endpoint: &str) -> AwsArgs {
    AwsArgs {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint.into()),
        credentials: Some(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "paved-tests",
        )),
    }
}

/// The DNS intent of a test app whose records live in the public zone `zone`.
pub fn public_zone(zone: &str) -> paved::spec::Dns {
    paved::spec::Dns {
        zone: zone.into(),
        name: format!("www.{zone}"),
        ttl: 60,
        private: false,
        zone_id: None,
    }
}
