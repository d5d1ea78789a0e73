//! The one way every verb prints its results to standard output: a closed pipe
//! (`prewarm recipe --digest | head -c0`) ends the output quietly instead of panicking.

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

/// `println!` through [`write`]: `outln!("{x}")?`.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write(&format!("{}\n", format_args!($($arg)*)))
    };
}
