//! The one way every verb prints: results to standard output (a closed pipe, as in
//! `prewarm recipe --digest | head -c0`, ends the output quietly instead of panicking), and
//! status lines, warnings and errors to standard error as the global `-q`, `-v` and `--color`
//! ask.

use std::io::Write;

use crate::error::{Error, Result};

/// Writes `text` to standard output and flushes it. A reader that went away (`EPIPE`) is not
/// an error: the rest of the output is simply not wanted.
pub fn write(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("write to", std::path::Path::new("<stdout>"), &e))
        }
        _ => Ok(()),
    }
}

/// How a verb prints the data it reports (`--format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    #[default]
    Human,
    /// One JSON document, with a schema in docs/ (named by its `schema` field).
    Json,
}

/// Prints `report` as one pretty-printed JSON document and a newline.
pub fn json<T: serde::Serialize>(report: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(report).map_err(|e| {
        Error::new(
            crate::error::ErrorKind::Io,
            format!("cannot serialise the report: {e}"),
        )
    })?;
    write(&format!("{text}\n"))
}

/// `println!` through [`write`]: `outln!("{x}")?`.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// How much a verb tells on standard error, and whether in colour: set once from the global
/// `-q/--quiet`, `-v/--verbose` and `--color` flags (with `NO_COLOR` and `CARGO_TERM_COLOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ui {
    /// How much is told.
    pub verbosity: Verbosity,
    /// Whether standard error gets colour.
    pub color: bool,
}

/// How much a verb tells on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// Progress, notes and warnings.
    Normal,
    /// Also the commands run and the details reports keep for `-v`.
    Verbose,
}

/// `--color`: `auto` (colour when standard error is a terminal, unless `NO_COLOR` is set or
/// `CARGO_TERM_COLOR` says otherwise), `always`, `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[allow(missing_docs)] // reason: documented on the type; variant docs would spell the list out again in --help
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour, given the environment's `NO_COLOR` and `CARGO_TERM_COLOR` and whether
    /// standard error is a terminal (an explicit `always`/`never` wins over both variables).
    pub fn resolve(
        self,
        no_color: Option<&str>,
        cargo_term_color: Option<&str>,
        tty: bool,
    ) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                if no_color.is_some_and(|v| !v.is_empty()) {
                    return false;
                }
                match cargo_term_color {
                    Some("always") => true,
                    Some("never") => false,
                    _ => tty,
                }
            }
        }
    }
}

static UI: std::sync::OnceLock<Ui> = std::sync::OnceLock::new();

/// Sets the UI for this process (the first call wins; `prewarm::cli::main` makes it).
pub fn init(ui: Ui) {
    let _ = UI.set(ui);
}

/// The UI of this process (normal and colourless when none was set, as in library use).
pub fn ui() -> Ui {
    UI.get().copied().unwrap_or(Ui {
        verbosity: Verbosity::Normal,
        color: false,
    })
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    ui().verbosity == Verbosity::Quiet
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    ui().verbosity == Verbosity::Verbose
}

/// `text` in bold `color` (an SGR code such as `31` for red) when colour is on.
pub fn paint(text: &str, color: &str) -> String {
    if ui().color {
        format!("\x1b[1;{color}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Prints a status line on standard error (`prewarm: ...`), unless `-q`; a line that starts
/// with `warning:` gets the warning colour.
pub fn status(text: &str) {
    if quiet() {
        return;
    }
    match text.strip_prefix("warning: ") {
        Some(rest) => eprintln!("prewarm: {} {rest}", paint("warning:", "33")),
        None => eprintln!("prewarm: {text}"),
    }
}

/// A line on standard error only with `-v`.
pub fn detail(text: &str) {
    if verbose() {
        eprintln!("prewarm: {text}");
    }
}

/// `eprintln!` through [`status`]: `status!("wrote `{}`", path.display())`.
#[macro_export]
macro_rules! status {
    ($($arg:tt)*) => {
        $crate::output::status(&format!($($arg)*))
    };
}
