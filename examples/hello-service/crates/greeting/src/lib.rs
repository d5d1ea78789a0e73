//! Domain types of `hello-service`: what a greeting is, how a name is
//! validated, and the JSON shapes the service answers with.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest name, in characters, that the service will greet.
pub const MAX_NAME_CHARS: usize = 64;

/// A greeting for one person, as sent over the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Greeting {
    /// The (trimmed) name that was greeted.
    pub name: String,
    /// The human-readable greeting.
    pub message: String,
    /// Number of characters in `name`.
    pub length: usize,
}

impl Greeting {
    /// Builds the greeting for `name`, rejecting names that are empty,
    /// too long or that contain control characters.
    pub fn for_name(name: &str) -> Result<Self, NameError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        let length = name.chars().count();
        if length > MAX_NAME_CHARS {
            return Err(NameError::TooLong { length });
        }
        if name.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        Ok(Self {
            name: name.to_owned(),
            message: format!("Hello, {name}!"),
            length,
        })
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The name was empty or only whitespace.
    Empty,
    /// The name had more than [`MAX_NAME_CHARS`] characters.
    TooLong {
        /// How many characters it had.
        length: usize,
    },
    /// The name contained a control character.
    ControlCharacter,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("name must not be empty"),
            Self::TooLong { length } => write!(
                f,
                "name has {length} characters, at most {MAX_NAME_CHARS} are allowed"
            ),
            Self::ControlCharacter => f.write_str("name must not contain control characters"),
        }
    }
}

impl std::error::Error for NameError {}

/// Body of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for humans.
    pub error: String,
}

impl From<NameError> for ErrorBody {
    fn from(err: NameError) -> Self {
        Self {
            error: err.to_string(),
        }
    }
}

/// Body of the `/health` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` while the service answers.
    pub status: String,
    /// Version of the running service.
    pub version: String,
}

impl Health {
    /// A healthy status report for the given version.
    pub fn ok(version: &str) -> Self {
        Self {
            status: "ok".to_owned(),
            version: version.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_and_serializes() {
        let greeting = Greeting::for_name("  world ").unwrap();
        assert_eq!(
            serde_json::to_string(&greeting).unwrap(),
            r#"{"name":"world","message":"Hello, world!","length":5}"#
        );
        let back: Greeting =
            serde_json::from_str(&serde_json::to_string(&greeting).unwrap()).unwrap();
        assert_eq!(back, greeting);
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(Greeting::for_name("Zoë").unwrap().length, 3);
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(Greeting::for_name("   "), Err(NameError::Empty));
        assert_eq!(
            Greeting::for_name("a\u{7}b"),
            Err(NameError::ControlCharacter)
        );
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            Greeting::for_name(&long),
            Err(NameError::TooLong {
                length: MAX_NAME_CHARS + 1
            })
        );
        let body = ErrorBody::from(NameError::Empty);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":"name must not be empty"}"#
        );
    }

    #[test]
    fn health_shape() {
        let health = Health::ok("1.2.3");
        assert_eq!(
            serde_json::to_value(&health).unwrap(),
            serde_json::json!({"status": "ok", "version": "1.2.3"})
        );
    }
}
