//! [`Timestamp`]: a point in time stored as a BSON date and shown as RFC 3339 in JSON.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A UTC instant with millisecond precision: a BSON `Date` in the database, and an RFC 3339
/// string with three fractional digits in JSON (`2026-11-26T23:07:06.123Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(bson::DateTime);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self(bson::DateTime::now())
    }

    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(bson::DateTime::from_millis(millis))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// This instant plus `duration` (saturating).
    pub fn after(self, duration: std::time::Duration) -> Self {
        Self(self.0.saturating_add_duration(duration))
    }

    /// The BSON date.
    pub const fn to_bson(self) -> bson::DateTime {
        self.0
    }

    /// Parses an RFC 3339 string such as `2026-11-26T23:07:06.123Z`.
    pub fn parse(s: &str) -> Option<Self> {
        bson::DateTime::parse_rfc3339_str(s).ok().map(Self)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with exactly three fractional digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.try_to_rfc3339_string() {
            // `YYYY-MM-DDTHH:MM:SS` then an optional fraction and `Z`.
            Ok(s) if s.len() >= 20 && s.as_bytes()[19] != b'+' && s.as_bytes()[19] != b'-' => {
                write!(f, "{}.{:03}Z", &s[..19], self.millis().rem_euclid(1000))
            }
            _ => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<bson::DateTime> for Timestamp {
    fn from(value: bson::DateTime) -> Self {
        Self(value)
    }
}

impl From<Timestamp> for bson::DateTime {
    fn from(value: Timestamp) -> Self {
        value.0
    }
}

impl From<Timestamp> for bson::Bson {
    fn from(value: Timestamp) -> Self {
        bson::Bson::DateTime(value.0)
    }
}

impl Serialize for Timestamp {
    /// An RFC 3339 string for human-readable formats (JSON), a BSON date otherwise.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            self.0.serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    /// Accepts an RFC 3339 string (JSON) or a BSON date, also when serde buffers the value
    /// (`#[serde(flatten)]`), where a BSON date arrives as `{"$date": ...}`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Timestamp, A::Error> {
                bson::DateTime::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Timestamp)
            }
        }

        if deserializer.is_human_readable() {
            deserializer.deserialize_any(Visitor)
        } else {
            bson::DateTime::deserialize(deserializer).map(Self)
        }
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .examples([serde_json::json!("2026-11-26T23:07:06.123Z")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shows_three_fraction_digits_and_bson_keeps_a_date() {
        let t = Timestamp::from_millis(1_764_198_426_120);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2025-11-26T23:07:06.120Z\""
        );
        assert_eq!(
            Timestamp::from_millis(1_764_198_426_000).to_string(),
            "2025-11-26T23:07:06.000Z"
        );
        let back: Timestamp = serde_json::from_str("\"2025-11-26T23:07:06.120Z\"").unwrap();
        assert_eq!(back, t);
        let doc = bson::doc! { "t": t };
        assert!(matches!(doc.get("t"), Some(bson::Bson::DateTime(_))));
        #[derive(Serialize, Deserialize)]
        struct W {
            t: Timestamp,
        }
        let raw = bson::serialize_to_vec(&W { t }).unwrap();
        let w: W = bson::deserialize_from_slice(&raw).unwrap();
        assert_eq!(w.t, t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        // Buffered by serde, as with #[serde(flatten)].
        #[derive(Serialize, Deserialize)]
        struct Outer {
            #[serde(flatten)]
            inner: W,
        }
        let raw = bson::serialize_to_vec(&Outer { inner: W { t } }).unwrap();
        let outer: Outer = bson::deserialize_from_slice(&raw).unwrap();
        assert_eq!(outer.inner.t, t);
    }
}
