//! Kubernetes quantities and human durations, parsed to check them, kept as written to render.

use std::time::Duration;

/// A Kubernetes quantity read as a number of base units (cores, bytes).
///
/// Grammar (k8s.io/apimachinery resource.Quantity): a signed decimal number followed by a binary
/// suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix (n u m k M G T P E) or an exponent (e3, E-2).
pub fn parse_quantity(text: &str) -> Result<f64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty quantity".into());
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let digits = number.strip_prefix(['+', '-']).unwrap_or(number);
    if digits.is_empty()
        || digits.matches('.').count() > 1
        || !digits.bytes().any(|b| b.is_ascii_digit())
        || digits.contains(['+', '-'])
    {
        return Err(format!("`{text}` does not start with a number"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let scale = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        s if s.starts_with(['e', 'E']) => {
            let exp: i32 = s[1..]
                .parse()
                .map_err(|_| format!("`{text}` has a malformed exponent"))?;
            10f64.powi(exp)
        }
        s => return Err(format!("`{text}` has an unknown suffix `{s}`")),
    };
    Ok(value * scale)
}

/// A CPU quantity in cores, which must be positive.
pub fn parse_cpu(text: &str) -> Result<f64, (String, Option<String>)> {
    let cores = parse_quantity(text).map_err(|e| (e, Some(cpu_help().into())))?;
    if cores <= 0.0 {
        return Err((format!("cpu `{text}` must be more than zero"), None));
    }
    if cores < 0.001 {
        return Err((
            format!("cpu `{text}` is below the smallest unit Kubernetes keeps (1m)"),
            Some(cpu_help().into()),
        ));
    }
    Ok(cores)
}

fn cpu_help() -> &'static str {
    "write cores as `1` or `0.5`, or millicores as `250m`"
}

/// A memory quantity in bytes, which must be a positive whole number of bytes.
pub fn parse_memory(text: &str) -> Result<f64, (String, Option<String>)> {
    let help = "write memory as `256Mi` or `1Gi` (binary) or `512M` (decimal)";
    let bytes = parse_quantity(text).map_err(|e| (e, Some(help.into())))?;
    if bytes <= 0.0 {
        return Err((format!("memory `{text}` must be more than zero"), None));
    }
    if text.trim_end().ends_with('m') {
        let number = text.trim_end().trim_end_matches('m');
        return Err((
            format!("memory `{text}` means {bytes} bytes (`m` is milli)"),
            Some(format!("did you mean `{number}Mi`?")),
        ));
    }
    if bytes < 1024.0 * 1024.0 {
        return Err((
            format!("memory `{text}` is {bytes} bytes, too little for any container"),
            Some(help.into()),
        ));
    }
    Ok(bytes)
}

/// A duration such as `90s`, `10m`, `1h30m`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("`{text}` is not a duration"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}` is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            "" => return Err(format!("`{text}` needs a unit (ms, s, m or h)")),
            u => return Err(format!("`{text}` has an unknown unit `{u}`")),
        };
        total += part;
    }
    Ok(total)
}

/// A duration written back the way people write them: `1h30m`, `90s`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("250m"), Ok(0.25));
        assert_eq!(parse_quantity("2"), Ok(2.0));
        assert_eq!(parse_quantity("0.5"), Ok(0.5));
        assert_eq!(parse_quantity("256Mi"), Ok(268_435_456.0));
        assert_eq!(parse_quantity("1G"), Ok(1e9));
        assert_eq!(parse_quantity("1e3"), Ok(1000.0));
        assert!(parse_quantity("12xyz").is_err());
        assert!(parse_quantity("Mi").is_err());
        assert!(parse_quantity("1.2.3").is_err());
        assert!(parse_quantity("--1").is_err());
    }

    #[test]
    fn memory_in_millis_is_caught() {
        let (msg, help) = parse_memory("256m").expect_err("milli bytes");
        assert!(msg.contains("milli"), "{msg}");
        assert_eq!(help.as_deref(), Some("did you mean `256Mi`?"));
        assert!(parse_memory("128Mi").is_ok());
    }

    #[test]
    fn cpu_must_be_positive() {
        assert!(parse_cpu("0").is_err());
        assert!(parse_cpu("250m").is_ok());
        assert!(parse_cpu("lots").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10d").is_err());
        assert!(parse_duration("m").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    }
}
