//! Integer amounts and quantities, with the contract's range (1..=10^12, balances below 2^53).

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The largest amount or quantity one command may move.
pub const AMOUNT_MAX: i64 = 1_000_000_000_000;
/// The largest balance or quantity held: 2^53-1, so TypeScript numbers stay exact.
pub const BALANCE_MAX: i64 = (1_i64 << 53) - 1;

const _: () = assert!(AMOUNT_MAX < BALANCE_MAX);

/// An amount as the client sent it, before range checks: any JSON integer, even a huge one, so
/// that "too large" answers `AMOUNT_OUT_OF_RANGE` rather than a parse error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountInput(pub i128);

impl AmountInput {
    /// The amount when it lies in 1..=AMOUNT_MAX.
    pub fn in_range(self) -> Option<i64> {
        if (1..=i128::from(AMOUNT_MAX)).contains(&self.0) { i64::try_from(self.0).ok() } else { None }
    }
}

impl From<i64> for AmountInput {
    fn from(value: i64) -> Self {
        Self(i128::from(value))
    }
}

impl Serialize for AmountInput {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            // JSON numbers past i64 are clamped: they are out of range either way.
            let clamped = i64::try_from(self.0).unwrap_or(if self.0 < 0 { i64::MIN } else { i64::MAX });
            serializer.serialize_i64(clamped)
        } else {
            serializer.serialize_i128(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for AmountInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(AmountVisitor)
        } else {
            i128::deserialize(deserializer).map(Self)
        }
    }
}

struct AmountVisitor;

/// Stands in for any integer too large to represent: still out of range.
const HUGE: i128 = i128::MAX;

impl Visitor<'_> for AmountVisitor {
    type Value = AmountInput;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer amount")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(AmountInput(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(AmountInput(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        Ok(AmountInput(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        Ok(AmountInput(i128::try_from(v).unwrap_or(HUGE)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // A whole number written with an exponent (1e20) is an integer that is too large;
        // a fraction is the wrong type.
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(E::invalid_type(de::Unexpected::Float(v), &self));
        }
        if v.abs() >= 1e30 {
            return Ok(AmountInput(if v < 0.0 { -HUGE } else { HUGE }));
        }
        // Truncation is exact here: v is whole and below 1e30 in magnitude.
        #[allow(clippy::cast_possible_truncation)] // checked just above
        Ok(AmountInput(v as i128))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_amounts_parse_and_range_check() {
        let parse = |s: &str| serde_json::from_str::<AmountInput>(s);
        assert_eq!(parse("5").unwrap().in_range(), Some(5));
        assert_eq!(parse("0").unwrap().in_range(), None);
        assert_eq!(parse("-3").unwrap().in_range(), None);
        assert_eq!(parse("1000000000001").unwrap().in_range(), None);
        assert_eq!(parse("1e40").unwrap().in_range(), None);
        assert_eq!(parse("99999999999999999999999").unwrap().in_range(), None);
        assert!(parse("1.5").is_err());
        assert!(parse("\"7\"").is_err());
    }
}
