//! Response values documented the way the original APIs document them: a timestamp as a
//! `date-time` string, a count or a duration as a JSON `number` (written as an integer when it
//! is one), an enum inline as a string with its values, where poem-openapi's own types would
//! say `string`, `integer` and a reference to a named schema.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

use super::time::rfc3339_ms;

/// An instant, RFC 3339 in UTC with milliseconds; documented `string`, format `date-time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp(pub String);

impl Timestamp {
    /// From Redis time in ms since the epoch.
    pub fn from_ms(ms: i64) -> Self {
        Self(rfc3339_ms(ms))
    }
}

/// A JSON number; documented `number`.
#[derive(Debug, Clone, PartialEq)]
pub struct Number(pub serde_json::Number);

impl Number {
    /// Milliseconds as seconds: whole seconds as an integer, else with the milliseconds.
    pub fn seconds_from_ms(ms: u64) -> Self {
        if ms.is_multiple_of(1000) {
            Self((ms / 1000).into())
        } else {
            Self(serde_json::Number::from_f64(ms as f64 / 1000.0).unwrap_or_else(|| 0.into()))
        }
    }
}

impl From<u64> for Number {
    fn from(n: u64) -> Self {
        Self(n.into())
    }
}

macro_rules! documented_as {
    ($ty:ident, $inner:ty, $schema:expr, $parse:expr, $to:expr) => {
        impl Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = $inner;
            type RawElementValueType = $inner;

            fn name() -> Cow<'static, str> {
                stringify!($ty).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&$inner> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a $inner> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromJSON for $ty {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                let parse: fn(Value) -> Option<$ty> = $parse;
                let value = value.unwrap_or_default();
                parse(value.clone()).ok_or_else(|| ParseError::expected_type(value))
            }
        }

        impl ToJSON for $ty {
            fn to_json(&self) -> Option<Value> {
                let to: fn(&$ty) -> Value = $to;
                Some(to(self))
            }
        }
    };
}

documented_as!(
    Timestamp,
    String,
    MetaSchema {
        format: Some("date-time"),
        ..MetaSchema::new("string")
    },
    |v| match v {
        Value::String(text) => Some(Timestamp(text)),
        _ => None,
    },
    |t| Value::String(t.0.clone())
);

documented_as!(
    Number,
    serde_json::Number,
    MetaSchema::new("number"),
    |v| match v {
        Value::Number(n) => Some(Number(n)),
        _ => None,
    },
    |n| Value::Number(n.0.clone())
);

/// A poem-openapi enum documented inline (`type: string` with its `enum` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inline<E>(pub E);

impl<E: Type + ToJSON + ParseFromJSON> Type for Inline<E> {
    const IS_REQUIRED: bool = true;
    type RawValueType = E;
    type RawElementValueType = E;

    fn name() -> Cow<'static, str> {
        E::name()
    }

    /// The enum's own schema, taken from a registry of its own.
    fn schema_ref() -> MetaSchemaRef {
        let mut registry = Registry::new();
        E::register(&mut registry);
        let schema = registry
            .schemas
            .remove(E::name().as_ref())
            .unwrap_or_else(|| MetaSchema::new("string"));
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&E> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a E> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl<E: Type + ToJSON + ParseFromJSON> ParseFromJSON for Inline<E> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        E::parse_from_json(value)
            .map(Inline)
            .map_err(ParseError::propagate)
    }
}

impl<E: Type + ToJSON + ParseFromJSON> ToJSON for Inline<E> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_whole_when_they_can_be() {
        assert_eq!(Number::seconds_from_ms(60_000).to_json(), Some(60.into()));
        assert_eq!(
            Number::seconds_from_ms(1_500).to_json(),
            Some(serde_json::json!(1.5))
        );
    }
}
