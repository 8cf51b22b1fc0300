//! The EKS support calendar: until when AWS supports a Kubernetes version at the standard
//! control-plane rate, and until when at the extended rate.
//!
//! Sources (read 2026-12-07):
//! - 1.31 to 1.34: the EKS user guide's "Kubernetes version lifecycle" table
//!   (<https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html>, its source
//!   `latest/ug/versioning/kubernetes-versions.adoc` in awsdocs/amazon-eks-user-guide).
//! - 1.35: the same page as quoted by endoflife.date/amazon-eks (the copy we could read of the
//!   page itself stopped before that row).
//! - Rates: $0.10 per cluster-hour in standard support, $0.60 in extended support
//!   (<https://aws.amazon.com/blogs/containers/amazon-eks-extended-support-for-kubernetes-versions-pricing/>).
//!
//! Update the table when EKS releases a version; a version missing from it gets no warning
//! (and `paved doctor` says the calendar does not know it).

use time::{Date, Month};

/// Control-plane price per cluster-hour in standard support, in US dollars.
pub const STANDARD_RATE_PER_HOUR: f64 = 0.10;
/// Control-plane price per cluster-hour in extended support, in US dollars.
pub const EXTENDED_RATE_PER_HOUR: f64 = 0.60;

/// One row of the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Support {
    pub version: &'static str,
    pub standard_ends: Date,
    pub extended_ends: Date,
}

const fn day(year: i32, month: Month, day: u8) -> Date {
    match Date::from_calendar_date(year, month, day) {
        Ok(d) => d,
        Err(_) => panic!("not a date"),
    }
}

/// The calendar, oldest version first.
pub const CALENDAR: &[Support] = &[
    row(
        "1.31",
        day(2025, Month::November, 26),
        day(2026, Month::November, 26),
    ),
    row(
        "1.32",
        day(2026, Month::March, 23),
        day(2027, Month::March, 23),
    ),
    row(
        "1.33",
        day(2026, Month::July, 29),
        day(2027, Month::July, 29),
    ),
    row(
        "1.34",
        day(2026, Month::December, 2),
        day(2027, Month::December, 2),
    ),
    row(
        "1.35",
        day(2027, Month::March, 27),
        day(2028, Month::March, 27),
    ),
];

const fn row(version: &'static str, standard_ends: Date, extended_ends: Date) -> Support {
    Support {
        version,
        standard_ends,
        extended_ends,
    }
}

/// Where a version stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// In standard support until the day given.
    Standard { ends: Date },
    /// Past standard support, billed at the extended rate until the day given.
    Extended { standard_ended: Date, ends: Date },
    /// Past extended support: EKS upgrades such clusters on its own.
    Unsupported { ended: Date },
    /// Older than the calendar's first version: its extended support ended no later than that
    /// version's (EKS supports versions in the order of their release).
    Older { first: Support },
    /// The calendar does not know the version (newer than its last row, or not `1.N`).
    Unknown,
}

/// The calendar row of `version`.
pub fn lookup(version: &str) -> Option<Support> {
    CALENDAR.iter().copied().find(|s| s.version == version)
}

/// Where `version` stands on `today`.
pub fn standing(version: &str, today: Date) -> Standing {
    match lookup(version) {
        None => match (minor(version), CALENDAR.first()) {
            (Some(m), Some(first)) if minor(first.version).is_some_and(|f| m < f) => {
                Standing::Older { first: *first }
            }
            _ => Standing::Unknown,
        },
        Some(s) if today <= s.standard_ends => Standing::Standard {
            ends: s.standard_ends,
        },
        Some(s) if today <= s.extended_ends => Standing::Extended {
            standard_ended: s.standard_ends,
            ends: s.extended_ends,
        },
        Some(s) => Standing::Unsupported {
            ended: s.extended_ends,
        },
    }
}

/// The minor number of a `1.N` version.
fn minor(version: &str) -> Option<u32> {
    version.strip_prefix("1.")?.parse().ok()
}

/// The newest version in standard support on `today`, the one to suggest.
pub fn newest_standard(today: Date) -> Option<&'static str> {
    CALENDAR
        .iter()
        .rev()
        .find(|s| today <= s.standard_ends)
        .map(|s| s.version)
}

/// How many days before standard support ends paved starts to warn.
pub const WARN_DAYS: i64 = 60;

/// A warning for a cluster on `version` today, or `None` when nothing is due. `extended` says
/// whether the spec opted into extended support (else EKS upgrades the cluster at the end of
/// standard support).
pub fn warning(version: &str, extended: bool, today: Date) -> Option<String> {
    let suggest = newest_standard(today)
        .map(|v| format!("; move to {v} (a blue/green deploy)"))
        .unwrap_or_default();
    match standing(version, today) {
        Standing::Standard { ends } if (ends - today).whole_days() <= WARN_DAYS => Some(format!(
            "Kubernetes {version} leaves EKS standard support on {ends}: then {}{suggest}",
            if extended {
                format!(
                    "the control plane costs ${EXTENDED_RATE_PER_HOUR:.2}/h instead of ${STANDARD_RATE_PER_HOUR:.2}/h"
                )
            } else {
                "EKS upgrades the cluster in place (cluster.support is standard)".to_string()
            }
        )),
        Standing::Extended {
            standard_ended,
            ends,
        } => Some(format!(
            "Kubernetes {version} left EKS standard support on {standard_ended}: {}{suggest}",
            if extended {
                format!(
                    "the control plane costs ${EXTENDED_RATE_PER_HOUR:.2}/h (six times ${STANDARD_RATE_PER_HOUR:.2}/h) until {ends}"
                )
            } else {
                "with cluster.support standard EKS upgrades such a cluster in place; `support: extended` keeps it, at ${EXTENDED_RATE_PER_HOUR:.2}/h".to_string()
            }
        )),
        Standing::Unsupported { ended } => Some(format!(
            "Kubernetes {version} left EKS extended support on {ended}{suggest}"
        )),
        Standing::Older { first } => Some(format!(
            "Kubernetes {version} is older than {}, whose EKS extended support ended on {}{suggest}",
            first.version, first.extended_ends
        )),
        Standing::Standard { .. } | Standing::Unknown => None,
    }
}

/// Today's date in UTC.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_is_ordered_and_each_row_sane() {
        for pair in CALENDAR.windows(2) {
            assert!(pair[0].standard_ends < pair[1].standard_ends, "{pair:?}");
        }
        for s in CALENDAR {
            // Extended support lasts twelve months after standard support.
            assert_eq!(s.extended_ends.year(), s.standard_ends.year() + 1, "{s:?}");
        }
    }

    #[test]
    fn standing_moves_through_the_calendar() {
        let d = |y, m, dd| day(y, m, dd);
        assert_eq!(
            standing("1.34", d(2026, Month::December, 2)),
            Standing::Standard {
                ends: d(2026, Month::December, 2)
            }
        );
        assert!(matches!(
            standing("1.34", d(2026, Month::December, 3)),
            Standing::Extended { .. }
        ));
        assert!(matches!(
            standing("1.31", d(2026, Month::December, 7)),
            Standing::Unsupported { .. }
        ));
        assert_eq!(
            standing("1.99", d(2026, Month::December, 7)),
            Standing::Unknown
        );
        assert_eq!(
            standing("2.0", d(2026, Month::December, 7)),
            Standing::Unknown
        );
        assert!(matches!(
            standing("1.28", d(2026, Month::December, 7)),
            Standing::Older { .. }
        ));
        assert_eq!(newest_standard(d(2026, Month::December, 7)), Some("1.35"));
    }

    #[test]
    fn warnings_name_the_date_the_cost_and_the_way_out() {
        let today = day(2026, Month::December, 7);
        let w = warning("1.33", true, today).unwrap();
        assert!(
            w.contains("2026-07-29") && w.contains("$0.60/h") && w.contains("move to 1.35"),
            "{w}"
        );
        let w = warning("1.33", false, today).unwrap();
        assert!(w.contains("support: extended"), "{w}");
        let w = warning("1.30", false, today).unwrap();
        assert!(
            w.contains("older than 1.31") && w.contains("2026-11-26"),
            "{w}"
        );
        // Close to the end of standard support.
        let w = warning("1.35", false, day(2027, Month::February, 1)).unwrap();
        assert!(
            w.contains("2027-03-27") && w.contains("upgrades the cluster in place"),
            "{w}"
        );
        assert_eq!(warning("1.35", false, today), None);
        assert_eq!(warning("1.99", false, today), None);
    }
}
