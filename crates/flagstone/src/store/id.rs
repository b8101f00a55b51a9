//! `Id<T>`: a typed ObjectId.

use std::{fmt, marker::PhantomData, str::FromStr};

use bson::{Bson, oid::ObjectId};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// The id of a `T`: an ObjectId that knows what it points at, so a `Id<User>` cannot be
/// passed where an `Id<Post>` is expected.
///
/// In JSON it is a 24-character hex string; in BSON (what the store writes) it is an
/// ObjectId. Parsing is strict: anything but 24 hex digits is refused, so a malformed id
/// in a path (`GET /posts/not-an-id`) is a 400 from the extractor, never a 500.
///
/// ```
/// use flagstone::store::Id;
///
/// struct Post;
/// let id: Id<Post> = "65f1c0ffee0000000000beef".parse().unwrap();
/// assert_eq!(serde_json::to_string(&id).unwrap(), "\"65f1c0ffee0000000000beef\"");
/// assert!("65f1c0ffee".parse::<Id<Post>>().is_err());
/// ```
pub struct Id<T> {
    oid: ObjectId,
    _of: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// A fresh id.
    pub fn new() -> Self {
        Self::from_object_id(ObjectId::new())
    }

    /// Wraps an ObjectId.
    pub const fn from_object_id(oid: ObjectId) -> Self {
        Self {
            oid,
            _of: PhantomData,
        }
    }

    /// The ObjectId.
    pub const fn object_id(&self) -> ObjectId {
        self.oid
    }

    /// The same id, seen as the id of another type.
    pub const fn cast<U>(self) -> Id<U> {
        Id::from_object_id(self.oid)
    }
}

impl<T> Default for Id<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Id<T> {}

impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.oid == other.oid
    }
}

impl<T> Eq for Id<T> {}

impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.oid.bytes().cmp(&other.oid.bytes())
    }
}

impl<T> std::hash::Hash for Id<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.oid.hash(state);
    }
}

impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.oid, f)
    }
}

impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.oid)
    }
}

/// The error for a string that is not an id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidId;

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid id: expected 24 hexadecimal characters")
    }
}

impl std::error::Error for InvalidId {}

impl<T> FromStr for Id<T> {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_object_id(s)
            .map(Self::from_object_id)
            .ok_or(InvalidId)
    }
}

/// 24 hexadecimal characters (either case) as an ObjectId, without the allocation and the
/// error value of [`ObjectId::parse_str`]: ids are parsed on every authenticated request.
pub(crate) fn parse_object_id(s: &str) -> Option<ObjectId> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let hex: &[u8; 24] = s.as_bytes().try_into().ok()?;
    let mut bytes = [0u8; 12];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(ObjectId::from_bytes(bytes))
}

impl<T> From<ObjectId> for Id<T> {
    fn from(oid: ObjectId) -> Self {
        Self::from_object_id(oid)
    }
}

impl<T> From<Id<T>> for ObjectId {
    fn from(id: Id<T>) -> Self {
        id.oid
    }
}

impl<T> From<Id<T>> for Bson {
    fn from(id: Id<T>) -> Self {
        Bson::ObjectId(id.oid)
    }
}

impl<T> TryFrom<&Bson> for Id<T> {
    type Error = InvalidId;

    fn try_from(value: &Bson) -> Result<Self, Self::Error> {
        match value {
            Bson::ObjectId(oid) => Ok(Self::from_object_id(*oid)),
            Bson::String(s) => s.parse(),
            _ => Err(InvalidId),
        }
    }
}

impl<T> Serialize for Id<T> {
    /// A hex string for human-readable formats (JSON), an ObjectId for BSON.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(&self.oid)
        } else {
            self.oid.serialize(serializer)
        }
    }
}

impl<'de, T> Deserialize<'de> for Id<T> {
    /// Accepts a 24-hex string or a BSON ObjectId.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = ObjectId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id of 24 hexadecimal characters")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ObjectId, E> {
                v.parse::<Id<()>>()
                    .map(|id| id.oid)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }

            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ObjectId, E> {
                <[u8; 12]>::try_from(v)
                    .map(ObjectId::from_bytes)
                    .map_err(|_| E::invalid_length(v.len(), &self))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ObjectId, A::Error> {
                ObjectId::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }

        let oid = if deserializer.is_human_readable() {
            deserializer.deserialize_any(Visitor)?
        } else {
            ObjectId::deserialize(deserializer)?
        };
        Ok(Self::from_object_id(oid))
    }
}

impl<T> schemars::JsonSchema for Id<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Id".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-fA-F]{24}$",
            "description": "An ObjectId as 24 hexadecimal characters."
        })
    }
}

#[cfg(feature = "openapi")]
impl<T> utoipa::PartialSchema for Id<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9a-fA-F]{24}$"))
            .description(Some("An ObjectId as 24 hexadecimal characters."))
            .examples([serde_json::json!("6745f7c2a1b2c3d4e5f60718")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl<T> utoipa::ToSchema for Id<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        "Id".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_parse_as_the_driver_parses_them() {
        for _ in 0..100 {
            let oid = ObjectId::new();
            assert_eq!(parse_object_id(&oid.to_hex()), Some(oid));
            assert_eq!(parse_object_id(&oid.to_hex().to_uppercase()), Some(oid));
        }
        let oid = ObjectId::parse_str("0123456789abcdefABCDEF00").unwrap();
        assert_eq!(parse_object_id("0123456789abcdefABCDEF00"), Some(oid));
        for bad in [
            "",
            "0123456789abcdef0123456",
            "0123456789abcdef012345678",
            "0123456789abcdef0123456g",
            "0123456789abcdef012345 7",
            "0123456789abcdef0123é5",
            "+123456789abcdef01234567",
        ] {
            assert_eq!(parse_object_id(bad), None, "{bad:?}");
            assert!(bad.parse::<Id<()>>().is_err(), "{bad:?}");
        }
    }
}
