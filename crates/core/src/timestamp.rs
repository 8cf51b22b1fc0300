//! Timestamps as paved prints and stores them: RFC 3339 in UTC, to the second
//! (`2026-12-06T20:40:07Z`), the form GitHub, Kubernetes and the deploy lock use.

use std::time::SystemTime;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `t` in RFC 3339, UTC, whole seconds.
pub fn rfc3339(t: impl Into<OffsetDateTime>) -> String {
    let t = t.into().to_offset(UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Seconds since the epoch of `t` (0 before it).
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_to_the_second() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_704_067_200_000 + 3_661_250);
        assert_eq!(rfc3339(t), "2024-01-01T01:01:01Z");
        // A leap day.
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00Z");
        assert_eq!(unix_seconds(t), 951_782_400);
    }
}
