//! The one place that builds and runs the programs prewarm starts (cargo, rustc, buildah,
//! docker). A [`Process`] prints as the exact command line, so every failure shows what was
//! run; [`Process::cargo`] is the way to start cargo.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};

use crate::error::{Error, ErrorKind, Result};

/// A process invocation under construction.
#[derive(Debug, Clone)]
pub struct Process {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    clear_env: bool,
    env: Vec<(OsString, Option<OsString>)>,
}

/// What a finished process produced.
#[derive(Debug)]
pub struct Output {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything the process printed on stdout.
    pub stdout: String,
    /// Everything the process printed on stderr.
    pub stderr: String,
}

impl Process {
    /// `program`, looked up on `PATH` when it is a bare name.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Process {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            cwd: None,
            clear_env: false,
            env: Vec::new(),
        }
    }

    /// `cargo` resolved from `$CARGO`, falling back to `cargo` on `PATH`.
    pub fn cargo() -> Self {
        Process::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
    }

    /// The program's name as it is shown in messages (`cargo`, `buildah`).
    fn name(&self) -> String {
        std::path::Path::new(&self.program)
            .file_name()
            .unwrap_or(&self.program)
            .to_string_lossy()
            .into_owned()
    }

    /// Appends one argument.
    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Appends arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Runs in `dir`.
    #[must_use]
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets an environment variable.
    #[must_use]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((
            key.as_ref().to_os_string(),
            Some(value.as_ref().to_os_string()),
        ));
        self
    }

    /// Starts from an empty environment: only the variables set with [`Process::env`] apply.
    #[must_use]
    pub fn env_clear(mut self) -> Self {
        self.clear_env = true;
        self.env.clear();
        self
    }

    /// Removes an environment variable.
    #[must_use]
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_os_string(), None));
        self
    }

    /// The arguments after the program name.
    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    fn command(&self) -> Command {
        crate::output::detail(&format!("running `{self}`"));
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        if self.clear_env {
            cmd.env_clear();
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }

    fn spawn_error(&self, err: &std::io::Error) -> Error {
        let name = self.name();
        let hint = if name == "cargo" {
            "is cargo installed and on PATH (or $CARGO set)?".to_string()
        } else {
            format!("is `{name}` installed and on PATH?")
        };
        Error::new(ErrorKind::Tool, format!("failed to run `{self}`: {err}")).with_hint(hint)
    }

    /// Runs to completion, capturing stdout and stderr.
    pub fn output(&self) -> Result<Output> {
        let out = self
            .command()
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.spawn_error(&e))?;
        Ok(Output {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs to completion, capturing output; a non-zero exit is an error that shows the command
    /// line, the exit status and the process's stderr.
    pub fn output_checked(&self) -> Result<Output> {
        let out = self.output()?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(self.failure(out.status, &out.stderr))
        }
    }

    /// Runs, handing every stdout line to `on_stdout` as it arrives and every stderr line to
    /// `on_stderr`.
    ///
    /// # Panics
    /// Never: both streams are piped before they are taken.
    pub fn stream(
        &self,
        mut on_stdout: impl FnMut(&str),
        on_stderr: impl FnMut(&str) + Send,
    ) -> Result<ExitStatus> {
        let mut child = self
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_error(&e))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut on_stderr = on_stderr;
        let status = std::thread::scope(|s| {
            let err_thread = s.spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                    on_stderr(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']));
                    line.clear();
                }
            });
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                on_stdout(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']));
                line.clear();
            }
            let _ = err_thread.join();
            child.wait()
        });
        status.map_err(|e| self.spawn_error(&e))
    }

    /// The error for a failed run: command line, exit status, the process's stderr.
    pub fn failure(&self, status: ExitStatus, stderr: &str) -> Error {
        let code = status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| format!("exit status {c}"));
        Error::new(
            ErrorKind::Tool,
            format!("{} failed with {code}: `{self}`", self.name()),
        )
        .with_detail(tail(stderr, 60))
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}

fn quote(arg: &OsStr) -> String {
    crate::dockerfile::shell_word(&arg.to_string_lossy())
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(dir) = &self.cwd {
            write!(f, "cd {} && ", quote(dir.as_os_str()))?;
        }
        for (k, v) in &self.env {
            if let Some(v) = v {
                write!(f, "{}={} ", k.to_string_lossy(), quote(v))?;
            }
        }
        f.write_str(&quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", quote(a))?;
        }
        Ok(())
    }
}
