//! The one error type of prewarm: a message a person can act on, an optional hint,
//! and the exit code it maps to.

use std::fmt;
use std::path::Path;

/// What kind of failure an [`Error`] is; each kind maps to one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user's input is wrong: a manifest, a recipe, a path, a flag.
    Input,
    /// Cargo (or another tool prewarm runs) failed.
    Tool,
    /// A file-system or process operation failed for a reason outside the input.
    Io,
    /// `prewarm verify`: the build ran, but reused less than the required share.
    ReuseShort,
    /// `prewarm check`: the planned build differs from the cooked one.
    Drift,
}

impl ErrorKind {
    /// The process exit code for this kind of failure.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Input => 1,
            ErrorKind::Tool => 3,
            ErrorKind::Io => 4,
            ErrorKind::ReuseShort => 10,
            ErrorKind::Drift => 11,
        }
    }
}

/// An error with a message, an optional detail block (such as cargo's own output), and a hint.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
}

/// prewarm's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message` (lowercase, paths in backticks).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    /// An error in the user's input.
    pub fn input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Input, message)
    }

    /// An I/O error on `path`, with the operation named in `what` ("read", "write", ...).
    pub fn io(what: &str, path: &Path, err: &std::io::Error) -> Self {
        Error::new(
            ErrorKind::Io,
            format!("failed to {what} `{}`: {err}", path.display()),
        )
    }

    /// Adds a hint, printed on its own line.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a detail block (for example cargo's output), printed below the message.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let detail = detail.trim_end();
        if !detail.is_empty() {
            self.detail = Some(detail.to_string());
        }
        self
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The main message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The detail block, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(detail) = &self.detail {
            for line in detail.lines() {
                write!(f, "\n  | {line}")?;
            }
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
