//! Parse, don't validate: client input becomes checked newtypes at the edge, so the rules never
//! see an unchecked value. Each constructor answers `VALIDATION_FAILED` naming the field.

use crate::error::{ApiError, ErrorCode};
use crate::limits::*;
use crate::model::Preferences;
use crate::request::PreferencesPatch;
use crate::{AMOUNT_MAX, AmountInput};

/// A syntactically valid email, kept as given and compared lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let email = raw.trim();
        let valid = email.len() <= EMAIL_BYTES_MAX
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if valid {
            Ok(Self(email.to_owned()))
        } else {
            Err(ApiError::validation("email", "is not a valid email address"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The key of the unique index: emails are case-insensitive.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A password of acceptable length (never logged, never stored).
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        // The minimum counts characters, as a person does; the maximum bounds bytes to hash.
        if raw.chars().count() < PASSWORD_CHARS_MIN {
            return Err(ApiError::validation("password", "must be at least 8 characters"));
        }
        if raw.len() > PASSWORD_BYTES_MAX {
            return Err(ApiError::validation("password", "must be at most 256 bytes"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A display name: 2..=32 characters, trimmed, printable, not all spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if !(DISPLAY_NAME_CHARS_MIN..=DISPLAY_NAME_CHARS_MAX).contains(&chars) {
            return Err(ApiError::validation("display_name", "must be 2 to 32 characters"));
        }
        if name.chars().any(|c| c.is_control() || matches!(c, '<' | '>')) {
            return Err(ApiError::validation("display_name", "must not contain control characters or < >"));
        }
        Ok(Self(name.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A positive amount or quantity in 1..=10^12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    pub fn parse(input: AmountInput) -> Result<Self, ApiError> {
        input.in_range().map(Self).ok_or_else(|| {
            ApiError::with_message(ErrorCode::AMOUNT_OUT_OF_RANGE, format!("must be an integer in 1..={AMOUNT_MAX}"))
        })
    }
    pub fn new_checked(value: i64) -> Option<Self> {
        Self::parse(AmountInput::from(value)).ok()
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

/// An idempotency key: 1..=128 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, ApiError> {
        let Some(key) = raw else { return Ok(None) };
        if key.is_empty() || key.len() > IDEMPOTENCY_KEY_BYTES_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::validation("idempotency_key", "must be 1 to 128 printable ASCII characters"));
        }
        Ok(Some(Self(key.to_owned())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A page size: default 50, at most 200 (larger asks are clamped), at least 1.
pub fn page_limit(limit: Option<i64>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(LIST_LIMIT_DEFAULT),
        Some(n) if n < 1 => Err(ApiError::validation("limit", "must be at least 1")),
        Some(n) => Ok(u32::try_from(n.min(i64::from(LIST_LIMIT_MAX))).unwrap_or(LIST_LIMIT_MAX)),
    }
}

fn valid_locale(locale: &str) -> bool {
    let mut parts = locale.split(['-', '_']);
    let lang_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    lang_ok
        && locale.len() <= 35
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Applies a preferences patch, checking each field.
pub fn apply_preferences(current: &Preferences, patch: &PreferencesPatch) -> Result<Preferences, ApiError> {
    let mut next = current.clone();
    if let Some(locale) = &patch.locale {
        if !valid_locale(locale) {
            return Err(ApiError::validation("preferences.locale", "must be a language tag such as en or pt-BR"));
        }
        next.locale = locale.clone();
    }
    if let Some(volume) = patch.music_volume {
        next.music_volume = u8::try_from(volume)
            .ok()
            .filter(|v| *v <= 100)
            .ok_or_else(|| ApiError::validation("preferences.music_volume", "must be 0 to 100"))?;
    }
    if let Some(sound) = patch.sound_enabled {
        next.sound_enabled = sound;
    }
    if let Some(show) = patch.show_on_leaderboard {
        next.show_on_leaderboard = show;
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("a@b.co").is_ok());
        for bad in ["", "a", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.com", "a@b..com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Email::parse("Ann@Example.COM").unwrap().normalized(), "ann@example.com");
    }

    #[test]
    fn password_length_counts_characters_and_bounds_bytes() {
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse("1234567").is_err());
        // Seven characters are too few however many bytes they take.
        assert!(Password::parse("ééééééé").is_err());
        assert!(Password::parse("éééééééé").is_ok());
        assert!(Password::parse(&"é".repeat(129)).is_err(), "258 bytes");
    }

    #[test]
    fn locales_and_volume() {
        let base = Preferences::default();
        let patch = |locale: &str, vol: i64| PreferencesPatch {
            locale: Some(locale.into()),
            music_volume: Some(vol),
            ..PreferencesPatch::default()
        };
        assert!(apply_preferences(&base, &patch("pt-BR", 100)).is_ok());
        assert!(apply_preferences(&base, &patch("pt-BR", 101)).is_err());
        assert!(apply_preferences(&base, &patch("x", 5)).is_err());
        assert!(apply_preferences(&base, &patch("en", -1)).is_err());
    }
}
