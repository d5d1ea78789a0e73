//! What verify tells while it works: a phase line, or a status line with units done/expected.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// How much verify tells while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing.
    Quiet,
    /// One plain line per phase (stderr is not a terminal).
    Plain,
    /// A status line rewritten in place: phase and units done / expected.
    Terminal,
}

impl Progress {
    /// `Terminal` when stderr is one, else `Plain`; `Quiet` when asked.
    pub fn detect(quiet: bool) -> Progress {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            Progress::Terminal
        } else {
            Progress::Plain
        }
    }

    pub(crate) fn phase(self, step: usize, steps: usize, text: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Plain => crate::status!("[{step}/{steps}] {text}"),
            Progress::Terminal => {
                let mut err = std::io::stderr();
                let _ = write!(err, "\r\x1b[2K[{step}/{steps}] {text}");
                let _ = err.flush();
            }
        }
    }

    pub(crate) fn units(self, step: usize, steps: usize, text: &str, done: usize, expected: usize) {
        if self == Progress::Terminal {
            let expected = expected.max(done);
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r\x1b[2K[{step}/{steps}] {text}: {done}/{expected} units"
            );
            let _ = err.flush();
        }
    }

    /// Runs `f` while a ticker shows the units appearing under `root` (cargo writes one
    /// fingerprint directory per unit), for phases that report nothing themselves.
    pub(crate) fn watch<T>(
        self,
        step: usize,
        steps: usize,
        text: &str,
        root: &Path,
        expected: usize,
        f: impl FnOnce() -> T,
    ) -> T {
        if self != Progress::Terminal {
            return f();
        }
        // Cargo creates every unit's fingerprint directory up front, and writes the unit's
        // fingerprint file into it when the unit is done.
        let finished = || -> BTreeSet<PathBuf> {
            let dirs = crate::reasons::fingerprint_dirs(&[root.to_path_buf()]);
            crate::reasons::fingerprint_files(&dirs)
                .into_iter()
                .collect()
        };
        let stopped = AtomicBool::new(false);
        let start = finished();
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stopped.load(Ordering::Relaxed) {
                    let done = finished().difference(&start).count();
                    self.units(step, steps, text, done, expected);
                    for _ in 0..5 {
                        if stopped.load(Ordering::Relaxed) {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                }
            });
            let out = f();
            stopped.store(true, Ordering::Relaxed);
            out
        })
    }

    pub(crate) fn done(self) {
        if self == Progress::Terminal {
            let mut err = std::io::stderr();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
