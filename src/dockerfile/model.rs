//! The Dockerfile model: stages of instructions (`RUN` with its mounts and quoted words,
//! `ENV`, `COPY`, ...), rendered the same way every time and commented for a human reader.
//!
//! [`Dockerfile::render`] is the only way to the text, and it checks every value for the place
//! it goes ([`Place`]): a `RUN`'s arguments are single-quoted ([`super::quote`]), fixed shell
//! text can only come from prewarm's own code, and a value that cannot be written safely where
//! it goes (a line break anywhere, a comma in a `--mount` option, a `$` in `WORKDIR`) is an
//! error. Both images prewarm writes (the project image of [`super::project`] and the shared
//! builder of [`crate::builder`]) are described with it.

use std::fmt::Write as _;

use super::check::{self, Place};
use super::quote::{double_quoted, env_value, shell_word};
use crate::error::{Error, Result};

/// The Dockerfile frontend named by the `# syntax` line.
pub const SYNTAX: &str = "docker/dockerfile:1";

/// The first line of every Dockerfile prewarm writes after the `# syntax` line; it is how
/// prewarm recognises its own files (which it may overwrite).
pub use crate::defaults::DOCKERFILE_MARKER as MARKER;

/// A Dockerfile: an optional `# syntax` line, a header comment and the stages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerfile {
    /// Whether to start with `# syntax=docker/dockerfile:1`.
    pub syntax: bool,
    /// Comment lines at the top (without the `# `).
    pub header: Vec<String>,
    /// Build arguments declared before the first stage (`ARG NAME=DEFAULT`), which a stage's
    /// `FROM` may name as `${NAME}`; the default is an image reference.
    pub args: Vec<(String, String)>,
    /// The stages, in order.
    pub stages: Vec<Stage>,
    /// How a `RUN`'s later commands are set off.
    pub layout: Layout,
}

/// How the second and later commands of a `RUN` are set off: ` && ` at the start of the line
/// (the project image), or indented like the first one (the builder image).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// `RUN a \` / ` && b`.
    #[default]
    Flush,
    /// `RUN a \` / `    && b`.
    Indented,
}

/// One build stage: `FROM <from> AS <name>` and its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The stage name (`AS ...`); empty for the one stage of a single-stage file (`FROM <from>`).
    pub name: String,
    /// The image or earlier stage it starts from.
    pub from: String,
    /// Comment lines above the `FROM`.
    pub comment: Vec<String>,
    /// The instructions.
    pub steps: Vec<Step>,
}

/// One instruction with the comment above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Comment lines (without the `# `). Every ignored hadolint rule is justified here.
    pub comment: Vec<String>,
    /// hadolint rules ignored for this instruction (`# hadolint ignore=...`).
    pub hadolint_ignore: Vec<&'static str>,
    /// A blank line above it even when it has no comment (one always stands above a comment).
    pub spaced: bool,
    /// The instruction.
    pub instruction: Instruction,
}

/// The instructions prewarm writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `WORKDIR dir`
    Workdir(String),
    /// `ENV K=V ...`, one variable per line.
    Env(Vec<(String, String)>),
    /// `COPY [--from=stage] src... dst`
    Copy {
        /// A stage name or image reference to copy from.
        from: Option<String>,
        /// Source paths.
        src: Vec<String>,
        /// Destination.
        dst: String,
    },
    /// `RUN [--mount=...] cmd && cmd ...`
    Run(Run),
    /// `USER user`
    User(String),
    /// `ENTRYPOINT ["..."]`
    Entrypoint(Vec<String>),
    /// `CMD ["..."]`: the entrypoint's default arguments.
    Cmd(Vec<String>),
    /// `ARG NAME[=default]`: a build argument, in scope until the stage ends.
    Arg(String, Option<String>),
    /// `EXPOSE port[/proto] ...`
    Expose(Vec<String>),
    /// `LABEL key="value" ...`, one label per line, values double-quoted.
    Label(Vec<(String, String)>),
}

/// A shell-form `RUN`: its mounts and its commands, joined with `&&`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    /// `--mount=` options.
    pub mounts: Vec<Mount>,
    /// Shell commands, each on its own line.
    pub commands: Vec<Command>,
}

/// One shell command of a `RUN`: arguments, each quoted for the shell when it is rendered,
/// and fixed shell text (operators, redirections) that only prewarm's own code can write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command(Vec<Word>);

/// A word of a [`Command`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// Shell text, written as it is (`>/dev/null`, `$((...))`). A `&'static str`, so that no
    /// value from the command line or a file can reach a `RUN` unquoted.
    Shell(&'static str),
    /// An argument, single-quoted at render time unless it is plain.
    Arg(String),
    /// A line break: the next word starts a line of its own, indented under the command.
    Break,
}

impl Command {
    /// A command of arguments only (each quoted as needed).
    pub fn args<I, S>(args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command(args.into_iter().map(|a| Word::Arg(a.into())).collect())
    }

    /// A fixed command, written as it is.
    pub fn shell(text: &'static str) -> Command {
        Command(vec![Word::Shell(text)])
    }

    /// The command followed by fixed shell text (a redirection, say).
    #[must_use]
    pub fn then_shell(mut self, text: &'static str) -> Command {
        self.0.push(Word::Shell(text));
        self
    }

    /// The command followed by more arguments.
    #[must_use]
    pub fn then_args<I, S>(mut self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.0.extend(args.into_iter().map(|a| Word::Arg(a.into())));
        self
    }

    /// The command followed by a line break ([`Word::Break`]).
    #[must_use]
    pub fn then_break(mut self) -> Command {
        self.0.push(Word::Break);
        self
    }

    /// The words.
    pub fn words(&self) -> &[Word] {
        &self.0
    }
}

/// A `BuildKit` `RUN --mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// `type=cache`: a directory kept by the builder between builds, never part of a layer.
    Cache {
        /// Mount point.
        target: String,
        /// Cache id (default: the target path, shared by every build using the same path).
        id: Option<String>,
        /// Whether concurrent builds wait for each other or share it.
        sharing: Sharing,
    },
    /// `type=secret`: a file given to the build (`--secret id=...,src=...`), never in a layer.
    Secret {
        /// Secret id.
        id: String,
        /// Where the file appears during the `RUN`.
        target: String,
    },
}

/// The `sharing=` of a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Not written: the builder's default, shared.
    Default,
    /// `sharing=shared`, written out: concurrent builds use the cache at once.
    Shared,
    /// `sharing=locked`: concurrent builds take the cache one at a time.
    ///
    /// Buildah 1.28 (Debian 12) holds a locked cache until its whole build ends, so a second
    /// `RUN` of the same build that mounts it again waits forever: a locked id must appear in
    /// one `RUN` per Dockerfile.
    Locked,
}

impl Step {
    /// A step without comment.
    pub fn new(instruction: Instruction) -> Step {
        Step {
            comment: Vec::new(),
            hadolint_ignore: Vec::new(),
            spaced: false,
            instruction,
        }
    }

    /// A step with comment lines.
    pub fn commented(comment: &[&str], instruction: Instruction) -> Step {
        Step {
            comment: comment.iter().map(|s| (*s).to_string()).collect(),
            hadolint_ignore: Vec::new(),
            spaced: false,
            instruction,
        }
    }
}

impl Mount {
    /// A cache mount that concurrent builds take one at a time.
    pub fn locked_cache(target: &str, id: Option<&str>) -> Mount {
        Mount::cache(target, id, Sharing::Locked)
    }

    /// A cache mount that concurrent builds share (the default, not written).
    pub fn shared_cache(target: &str, id: Option<&str>) -> Mount {
        Mount::cache(target, id, Sharing::Default)
    }

    /// A cache mount.
    pub fn cache(target: &str, id: Option<&str>, sharing: Sharing) -> Mount {
        Mount::Cache {
            target: target.to_string(),
            id: id.map(str::to_string),
            sharing,
        }
    }
}

impl Dockerfile {
    /// The file's text. Every value is checked for the place it goes ([`Place`]) and quoted
    /// where that place quotes; one that cannot be written there safely is an error, never
    /// written.
    pub fn render(&self) -> Result<String> {
        let mut r = Renderer {
            out: String::new(),
            at: "the header".into(),
            and: match self.layout {
                Layout::Flush => " \\\n && ",
                Layout::Indented => " \\\n    && ",
            },
        };
        if self.syntax {
            r.line(&format!("# syntax={SYNTAX}"));
        }
        for line in &self.header {
            r.comment(line)?;
        }
        for (name, default) in &self.args {
            let name = r.value(Place::EnvKey, name)?;
            let default = r.value(Place::Image, default)?;
            r.line("");
            r.line(&format!("ARG {name}={default}"));
        }
        for stage in &self.stages {
            r.at = format!("the stage `{}`", stage.name);
            r.line("");
            for line in &stage.comment {
                r.comment(line)?;
            }
            let named = self
                .args
                .iter()
                .any(|(name, _)| stage.from == format!("${{{name}}}"));
            let from = if named {
                stage.from.as_str()
            } else {
                r.value(Place::Image, &stage.from)?
            };
            if stage.name.is_empty() {
                r.line(&format!("FROM {from}"));
            } else {
                let name = r.value(Place::StageName, &stage.name)?;
                r.line(&format!("FROM {from} AS {name}"));
            }
            for step in &stage.steps {
                if step.spaced || !step.comment.is_empty() {
                    r.line("");
                }
                for line in &step.comment {
                    r.comment(line)?;
                }
                if !step.hadolint_ignore.is_empty() {
                    r.line(&format!(
                        "# hadolint ignore={}",
                        step.hadolint_ignore.join(",")
                    ));
                }
                r.instruction(&step.instruction)?;
            }
        }
        Ok(r.out)
    }
}

/// Renders a [`Dockerfile`], checking each value for its place.
struct Renderer {
    out: String,
    /// Where in the file it is (for errors).
    at: String,
    /// What sets off a `RUN`'s later commands ([`Layout`]).
    and: &'static str,
}

impl Renderer {
    fn line(&mut self, line: &str) {
        self.out.push_str(line);
        self.out.push('\n');
    }

    /// `value`, if it may go into `place`.
    fn value<'v>(&self, place: Place, value: &'v str) -> Result<&'v str> {
        match place.problem(value) {
            None => Ok(value),
            Some(problem) => Err(Error::input(format!(
                "`{}` cannot be written as {} in {} of the Dockerfile: {problem}",
                check::shown(value),
                place.name(),
                self.at
            ))
            .with_hint(
                "prewarm checks every option and config value before it writes a Dockerfile, and this one got through: please report it with the command line",
            )),
        }
    }

    fn comment(&mut self, line: &str) -> Result<()> {
        let line = self.value(Place::Comment, line)?;
        if line.is_empty() {
            self.line("#");
        } else {
            self.line(&format!("# {line}"));
        }
        Ok(())
    }

    fn mount(&self, mount: &Mount) -> Result<String> {
        Ok(match mount {
            Mount::Cache {
                target,
                id,
                sharing,
            } => {
                let mut m = format!(
                    "--mount=type=cache,target={}",
                    self.value(Place::MountValue, target)?
                );
                if let Some(id) = id {
                    let _ = write!(m, ",id={}", self.value(Place::MountValue, id)?);
                }
                match sharing {
                    Sharing::Default => {}
                    Sharing::Shared => m.push_str(",sharing=shared"),
                    Sharing::Locked => m.push_str(",sharing=locked"),
                }
                m
            }
            Mount::Secret { id, target } => format!(
                "--mount=type=secret,id={},target={}",
                self.value(Place::MountValue, id)?,
                self.value(Place::MountValue, target)?
            ),
        })
    }

    fn command(&self, command: &Command) -> Result<String> {
        let mut out = String::new();
        // What goes before the next word: nothing at the start and after a line break.
        let mut sep = "";
        for word in command.words() {
            out.push_str(sep);
            sep = " ";
            match word {
                Word::Shell(text) => out.push_str(text),
                Word::Arg(arg) => out.push_str(&shell_word(self.value(Place::Word, arg)?)),
                Word::Break => {
                    out.push_str("\\\n        ");
                    sep = "";
                }
            }
        }
        Ok(out)
    }

    /// The JSON array of an exec-form `ENTRYPOINT` or `CMD`.
    fn exec_form(&self, args: &[String]) -> Result<String> {
        for a in args {
            self.value(Place::Word, a)?;
        }
        let json = serde_json::to_string(args)
            .map_err(|e| Error::input(format!("cannot write {args:?} as JSON: {e}")))?;
        Ok(json.replace("\",\"", "\", \""))
    }

    fn path(&self, path: &str) -> Result<String> {
        Ok(self.value(Place::Path, path)?.to_string())
    }

    /// `key=value` pairs of `ENV` or `LABEL`, each checked for its places and the value quoted.
    fn pairs(
        &self,
        pairs: &[(String, String)],
        (key_place, value_place): (Place, Place),
        quote: fn(&str) -> String,
        sep: &str,
    ) -> Result<String> {
        let mut lines = Vec::new();
        for (k, v) in pairs {
            let k = self.value(key_place, k)?;
            let v = self.value(value_place, v)?;
            lines.push(format!("{k}={}", quote(v)));
        }
        Ok(lines.join(sep))
    }

    fn instruction(&mut self, instruction: &Instruction) -> Result<()> {
        let text = match instruction {
            Instruction::Workdir(dir) => format!("WORKDIR {}", self.path(dir)?),
            Instruction::User(user) => format!("USER {}", self.value(Place::User, user)?),
            Instruction::Env(vars) => format!(
                "ENV {}",
                self.pairs(
                    vars,
                    (Place::EnvKey, Place::EnvValue),
                    env_value,
                    " \\\n    "
                )?
            ),
            Instruction::Copy { from, src, dst } => {
                let mut t = String::from("COPY ");
                if let Some(from) = from {
                    let _ = write!(t, "--from={} ", self.value(Place::Image, from)?);
                }
                for s in src {
                    let _ = write!(t, "{} ", self.path(s)?);
                }
                t.push_str(&self.path(dst)?);
                t
            }
            Instruction::Entrypoint(args) => format!("ENTRYPOINT {}", self.exec_form(args)?),
            Instruction::Cmd(args) => format!("CMD {}", self.exec_form(args)?),
            Instruction::Arg(name, default) => {
                let name = self.value(Place::EnvKey, name)?;
                match default {
                    Some(v) => format!("ARG {name}={}", env_value(self.value(Place::EnvValue, v)?)),
                    None => format!("ARG {name}"),
                }
            }
            Instruction::Label(labels) => format!(
                "LABEL {}",
                self.pairs(
                    labels,
                    (Place::LabelKey, Place::LabelValue),
                    double_quoted,
                    " \\\n      "
                )?
            ),
            Instruction::Expose(ports) => {
                let mut t = String::from("EXPOSE");
                for p in ports {
                    let _ = write!(t, " {}", self.value(Place::Port, p)?);
                }
                t
            }
            Instruction::Run(run) => {
                let mut lines = Vec::new();
                for m in &run.mounts {
                    lines.push(self.mount(m)?);
                }
                let mut commands = run.commands.iter();
                if let Some(first) = commands.next() {
                    lines.push(self.command(first)?);
                }
                let mut t = String::from("RUN ");
                t.push_str(&lines.join(" \\\n    "));
                for cmd in commands {
                    let _ = write!(t, "{}{}", self.and, self.command(cmd)?);
                }
                t
            }
        };
        self.line(&text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_step(from: &str, instruction: Instruction) -> Dockerfile {
        Dockerfile {
            syntax: false,
            header: vec!["h".into()],
            stages: vec![Stage {
                name: "s".into(),
                from: from.into(),
                comment: Vec::new(),
                steps: vec![Step::new(instruction)],
            }],
            args: Vec::new(),
            layout: Layout::Flush,
        }
    }

    #[test]
    fn run_rendering() {
        let df = one_step(
            "img:1",
            Instruction::Run(Run {
                mounts: vec![Mount::locked_cache("/c", None)],
                commands: vec![
                    Command::args(["a", "it's $HOME"]),
                    Command::args(["b"]).then_shell(">/dev/null"),
                ],
            }),
        );
        assert_eq!(
            df.render().unwrap(),
            "# h\n\nFROM img:1 AS s\nRUN --mount=type=cache,target=/c,sharing=locked \\\n    a 'it'\\''s $HOME' \\\n && b >/dev/null\n"
        );
    }

    /// Whatever a caller puts into the model, what cannot be written safely is refused when
    /// the file is rendered.
    #[test]
    fn render_refuses_what_cannot_be_written() {
        let cases = [
            one_step("rust:1.95\nRUN touch /pwned", Instruction::User("1".into())),
            one_step("$IMAGE", Instruction::User("1".into())),
            one_step("img", Instruction::Workdir("/app/$HOME".into())),
            one_step("img", Instruction::Workdir("/my app".into())),
            one_step(
                "img",
                Instruction::Copy {
                    from: None,
                    src: vec!["a\nRUN x".into()],
                    dst: ".".into(),
                },
            ),
            one_step(
                "img",
                Instruction::Run(Run {
                    mounts: vec![Mount::shared_cache("/t,id=other,sharing=locked", None)],
                    commands: vec![Command::args(["x"])],
                }),
            ),
            one_step(
                "img",
                Instruction::Run(Run {
                    mounts: vec![Mount::shared_cache("/t", Some("a\"b"))],
                    commands: vec![Command::args(["x"])],
                }),
            ),
            one_step(
                "img",
                Instruction::Run(Run {
                    mounts: Vec::new(),
                    commands: vec![Command::args(["echo", "a\nRUN x"])],
                }),
            ),
            one_step("img", Instruction::Env(vec![("A B".into(), "x".into())])),
            one_step("img", Instruction::Env(vec![("A".into(), "x\ny".into())])),
            one_step("img", Instruction::Entrypoint(vec!["/bin/x\n".into()])),
            one_step("img", Instruction::User("root\nRUN x".into())),
            Dockerfile {
                header: vec!["x\nRUN touch /pwned".into()],
                ..one_step("img", Instruction::User("1".into()))
            },
        ];
        for df in cases {
            let err = df.render().unwrap_err();
            assert!(err.message().contains("cannot be written as"), "{err}");
            assert!(!err.message().contains('\n'), "{err}");
        }
        let ok = one_step(
            "registry.example.com:5000/rust:1.95@sha256:0123456789abcdef0123456789abcdef",
            Instruction::Env(vec![("A".into(), "a \"$b\"".into())]),
        );
        assert!(ok.render().unwrap().contains("ENV A=\"a \\\"\\$b\\\"\""));
    }
}
