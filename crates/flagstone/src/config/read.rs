//! Typed, lenient reading of single settings, collecting every problem instead of stopping
//! at the first.

use std::{collections::BTreeSet, fmt, time::Duration};

use figment::{Figment, value::Value};
use ipnet::IpNet;

use super::{
    ConfigProblem, JwtAlgorithm, LogFormat, MailTransportKind, SameSite, Secret, TokenTransport,
    sources::describe,
};

/// How to read one kind of setting, and what to say when the value does not fit.
pub(crate) struct Kind<T> {
    pub(crate) expected: &'static str,
    pub(crate) parse: fn(&Value) -> Option<T>,
    /// Never echo the value in a problem.
    pub(crate) secret: bool,
}

impl<T> Kind<T> {
    const fn new(expected: &'static str, parse: fn(&Value) -> Option<T>) -> Self {
        Self {
            expected,
            parse,
            secret: false,
        }
    }
}

pub(crate) const PORT: Kind<u16> = Kind::new("an integer 1-65535", |v| {
    integer(v)
        .filter(|n| (1..=65535).contains(n))
        .map(|n| n as u16)
});
pub(crate) const COUNT: Kind<u64> = Kind::new("a non-negative integer", |v| {
    integer(v).and_then(|n| u64::try_from(n).ok())
});
pub(crate) const POOL_SIZE: Kind<u32> = Kind::new("an integer 0-10000", |v| {
    integer(v)
        .filter(|n| (0..=10_000).contains(n))
        .map(|n| n as u32)
});
pub(crate) const BOOL: Kind<bool> = Kind::new("true or false", Value::to_bool_lossy);
pub(crate) const STRING: Kind<String> = Kind::new("a string", string);
pub(crate) const OPTIONAL_STRING: Kind<Option<String>> = Kind::new("a string", |v| {
    string(v).map(|s| Some(s).filter(|s| !s.is_empty()))
});
pub(crate) const STRINGS: Kind<Vec<String>> = Kind::new(
    "a list of strings (an array, or one comma-separated string)",
    strings,
);
pub(crate) const SECRET: Kind<Option<Secret>> = Kind {
    expected: "a string",
    parse: |v| string(v).map(|s| Some(Secret::new(s)).filter(|s| !s.is_empty())),
    secret: true,
};
pub(crate) const SECRETS: Kind<Vec<Secret>> = Kind {
    expected: "a list of strings",
    parse: |v| strings(v).map(|list| list.into_iter().map(Secret::new).collect()),
    secret: true,
};
pub(crate) const DURATION: Kind<Duration> = Kind::new(
    "a duration such as \"30s\", \"500ms\", \"15m\", \"2h\", \"30d\" or a number of seconds",
    duration,
);
pub(crate) const SIZE: Kind<u64> = Kind::new(
    "a size such as \"1MiB\", \"512KiB\", \"2MB\" or a number of bytes",
    size,
);
pub(crate) const VALIDATION_STATUS: Kind<u16> = Kind::new("400 or 422", |v| {
    integer(v)
        .filter(|n| *n == 400 || *n == 422)
        .map(|n| n as u16)
});
pub(crate) const LOG_FORMAT: Kind<LogFormat> =
    Kind::new("one of \"text\", \"pretty\", \"json\"", |v| {
        match v.as_str()? {
            "text" => Some(LogFormat::Text),
            "pretty" => Some(LogFormat::Pretty),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    });
pub(crate) const SMALL_COUNT: Kind<u32> = Kind::new("a non-negative integer", |v| {
    integer(v).and_then(|n| u32::try_from(n).ok())
});
pub(crate) const JWT_ALGORITHM: Kind<JwtAlgorithm> =
    Kind::new("one of \"HS256\", \"EdDSA\", \"RS256\"", |v| {
        match v.as_str()? {
            "HS256" => Some(JwtAlgorithm::HS256),
            "EdDSA" => Some(JwtAlgorithm::EdDSA),
            "RS256" => Some(JwtAlgorithm::RS256),
            _ => None,
        }
    });
pub(crate) const TOKEN_TRANSPORT: Kind<TokenTransport> =
    Kind::new("one of \"bearer\", \"cookie\", \"both\"", |v| {
        match v.as_str()? {
            "bearer" => Some(TokenTransport::Bearer),
            "cookie" => Some(TokenTransport::Cookie),
            "both" => Some(TokenTransport::Both),
            _ => None,
        }
    });
pub(crate) const SAME_SITE: Kind<SameSite> =
    Kind::new("one of \"lax\", \"strict\", \"none\"", |v| {
        match v.as_str()? {
            "lax" => Some(SameSite::Lax),
            "strict" => Some(SameSite::Strict),
            "none" => Some(SameSite::None),
            _ => None,
        }
    });
pub(crate) const MAIL_TRANSPORT: Kind<MailTransportKind> = Kind::new(
    "one of \"log\", \"memory\", \"file\", \"smtp\"",
    |v| match v.as_str()? {
        "log" => Some(MailTransportKind::Log),
        "memory" => Some(MailTransportKind::Memory),
        "file" => Some(MailTransportKind::File),
        "smtp" => Some(MailTransportKind::Smtp),
        _ => None,
    },
);
pub(crate) const NETWORKS: Kind<Vec<IpNet>> = Kind::new(
    "a list of IP addresses or CIDR ranges such as \"10.0.0.0/8\"",
    |v| strings(v)?.iter().map(|s| network(s)).collect(),
);

fn integer(value: &Value) -> Option<i128> {
    match value {
        Value::String(_, s) => s.trim().parse().ok(),
        _ => value
            .to_i128()
            .or_else(|| value.to_u128().and_then(|n| i128::try_from(n).ok())),
    }
}

fn string(value: &Value) -> Option<String> {
    match value {
        Value::String(_, s) => Some(s.clone()),
        Value::Num(..) | Value::Bool(..) | Value::Char(..) => Some(show(value)),
        _ => None,
    }
}

fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(_, items) => items.iter().map(string).collect(),
        Value::String(_, s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

pub(crate) fn network(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// `"30s"`, `"500ms"`, `"15m"`, `"2h"`, `"30d"`, or a number of seconds.
pub(crate) fn duration(value: &Value) -> Option<Duration> {
    if let Some(n) = integer(value) {
        return u64::try_from(n).ok().map(Duration::from_secs);
    }
    let s = value.as_str()?.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(ms).map(Duration::from_millis)
}

/// `"1MiB"`, `"512KiB"`, `"2MB"`, `"100kb"`, or a number of bytes.
pub(crate) fn size(value: &Value) -> Option<u64> {
    if let Some(n) = integer(value) {
        return u64::try_from(n).ok();
    }
    let s = value.as_str()?.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "b" => 1,
        "kb" => 1_000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// A value as a user would have written it.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::String(_, s) => format!("{s:?}"),
        Value::Char(_, c) => format!("{c:?}"),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(..) => value
            .to_i128()
            .map(|n| n.to_string())
            .or_else(|| value.to_u128().map(|n| n.to_string()))
            .or_else(|| value.to_f64().map(|n| n.to_string()))
            .unwrap_or_default(),
        Value::Empty(..) => "nothing".to_owned(),
        Value::Dict(..) => "a table".to_owned(),
        Value::Array(..) => "an array".to_owned(),
    }
}

/// Reads settings one by one from a merged figment, recording every problem.
pub(crate) struct Reader<'a> {
    figment: &'a Figment,
    pub(crate) problems: Vec<ConfigProblem>,
    read: BTreeSet<&'static str>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(figment: &'a Figment) -> Self {
        Self {
            figment,
            problems: Vec::new(),
            read: BTreeSet::new(),
        }
    }

    /// The value at `key` read as `kind`, or `default` when it is absent or invalid
    /// (recording a problem in the second case).
    pub(crate) fn get<T>(&mut self, key: &'static str, default: T, kind: &Kind<T>) -> T {
        self.read.insert(key);
        let Ok(value) = self.figment.find_value(key) else {
            return default;
        };
        match (kind.parse)(&value) {
            Some(parsed) => parsed,
            None => {
                let got = match (&value, kind.secret) {
                    (Value::String(_, s), true) => format!("a string of {} bytes", s.len()),
                    (_, true) => show(&value).replace(|c: char| c.is_ascii_alphanumeric(), "*"),
                    (_, false) => show(&value),
                };
                self.problem(key, format!("expected {}, got {got}", kind.expected));
                default
            }
        }
    }

    /// Records a problem with the value at `key`, naming where the value came from.
    pub(crate) fn problem(&mut self, key: &str, message: impl fmt::Display) {
        let source = describe(self.figment.find_metadata(key), key);
        self.problems.push(ConfigProblem {
            key: key.to_owned(),
            message: message.to_string(),
            source,
        });
    }

    /// Reports keys in Flagstone's own sections that nothing reads: almost always typos.
    pub(crate) fn check_unknown(&mut self, sections: &[&str]) {
        for section in sections {
            let Ok(Value::Dict(_, dict)) = self.figment.find_value(section) else {
                continue;
            };
            for name in dict.keys() {
                let key = format!("{section}.{name}");
                if !self.read.contains(key.as_str()) {
                    let known: Vec<&str> = self
                        .read
                        .iter()
                        .filter_map(|k| k.strip_prefix(section)?.strip_prefix('.'))
                        .collect();
                    self.problem(
                        &key,
                        format!("unknown setting; known ones: {}", known.join(", ")),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::from(v.to_owned())
    }

    #[test]
    fn durations_take_units_or_seconds() {
        assert_eq!(duration(&s("500ms")), Some(Duration::from_millis(500)));
        assert_eq!(duration(&s("30s")), Some(Duration::from_secs(30)));
        assert_eq!(duration(&s("15m")), Some(Duration::from_secs(900)));
        assert_eq!(duration(&s("2h")), Some(Duration::from_secs(7200)));
        assert_eq!(duration(&s("30d")), Some(Duration::from_secs(2_592_000)));
        assert_eq!(duration(&s("45")), Some(Duration::from_secs(45)));
        assert_eq!(duration(&Value::from(45u8)), Some(Duration::from_secs(45)));
        for bad in [
            "",
            "s",
            "10 parsecs",
            "-5s",
            "1.5s",
            "99999999999999999999d",
        ] {
            assert_eq!(duration(&s(bad)), None, "{bad}");
        }
    }

    #[test]
    fn sizes_take_units_or_bytes() {
        assert_eq!(size(&s("1MiB")), Some(1 << 20));
        assert_eq!(size(&s("512KiB")), Some(512 << 10));
        assert_eq!(size(&s("2mb")), Some(2_000_000));
        assert_eq!(size(&s("1024")), Some(1024));
        assert_eq!(size(&s("1 GiB")), Some(1 << 30));
        for bad in ["", "MiB", "1 parsec", "-1"] {
            assert_eq!(size(&s(bad)), None, "{bad}");
        }
    }

    #[test]
    fn ports_are_checked_for_range() {
        assert_eq!((PORT.parse)(&s("8080")), Some(8080));
        assert_eq!((PORT.parse)(&Value::from(443u16)), Some(443));
        for bad in ["0", "65536", "abc", "-1", ""] {
            assert_eq!((PORT.parse)(&s(bad)), None, "{bad}");
        }
    }

    #[test]
    fn networks_take_addresses_and_ranges() {
        let parsed = (NETWORKS.parse)(&s("10.0.0.0/8, 127.0.0.1,::1")).unwrap();
        assert_eq!(parsed.len(), 3);
        assert!(parsed[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert_eq!((NETWORKS.parse)(&s("10.0.0.x")), None);
    }
}
