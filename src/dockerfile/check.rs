//! What may go into a generated Dockerfile, in one place.
//!
//! Two layers use these rules. The callers check every value they are given for its *kind*
//! (an image reference, a cargo feature, a Debian package, a target triple, a path) as soon as
//! they know where it came from, so that the error names the flag or config key: [`image_ref`],
//! [`features`], [`debian_package`], [`path`] and the others. The Dockerfile model then checks
//! every value again for the *place* it is rendered into ([`Place`]), so that nothing a caller
//! forgets reaches the file: a line break would end the instruction and start another one
//! whatever the quoting, a comma would start another `--mount` option, a `$` would be expanded
//! in `WORKDIR` and `COPY`. Values that are representable are quoted where they go (a `RUN`'s
//! words, `ENV` values: see [`super::quote`]); values that are not are refused, never mangled.

use crate::error::{Error, Result};
use crate::flags::BuildFlags;

pub use super::image_ref::image_ref;
use super::image_ref::image_ref_problem;

/// A place in a Dockerfile that a value is rendered into, with the rule it must follow there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The image of a `FROM` or a `COPY --from`: an image reference or a stage name.
    Image,
    /// A stage's name (`FROM ... AS name`).
    StageName,
    /// A path of `WORKDIR` or `COPY` (which expand `$` and split at whitespace).
    Path,
    /// A value in a `RUN --mount=` option list (buildkit splits it as CSV).
    MountValue,
    /// A variable name of `ENV`.
    EnvKey,
    /// A key of `LABEL` (`org.opencontainers.image.title`).
    LabelKey,
    /// A value of `LABEL` (always double-quoted).
    LabelValue,
    /// A value of `ENV` (double-quoted where needed).
    EnvValue,
    /// The user of `USER`.
    User,
    /// A word of a `RUN` command or an `ENTRYPOINT` (quoted where needed).
    Word,
    /// A port of `EXPOSE` (`8080`, `53/udp`).
    Port,
    /// A comment line.
    Comment,
}

impl Place {
    /// What the place is called in an error.
    pub fn name(self) -> &'static str {
        match self {
            Place::Image => "an image of FROM or COPY --from",
            Place::StageName => "a stage name",
            Place::Path => "a path of WORKDIR or COPY",
            Place::MountValue => "a RUN --mount option",
            Place::EnvKey => "an ENV variable name",
            Place::LabelKey => "a LABEL key",
            Place::LabelValue => "a LABEL value",
            Place::EnvValue => "an ENV value",
            Place::User => "the user of USER",
            Place::Word => "a word of RUN or ENTRYPOINT",
            Place::Port => "a port of EXPOSE",
            Place::Comment => "a comment",
        }
    }

    /// Why `value` cannot go here, or `None` if it can.
    pub fn problem(self, value: &str) -> Option<String> {
        if let Some(p) = control_problem(value) {
            return Some(p);
        }
        match self {
            Place::Image => image_ref_problem(value),
            Place::StageName => lower_name_problem(value, "a stage name"),
            Place::Path => path_problem(value),
            Place::MountValue => {
                if value.is_empty() {
                    return Some("it is empty".into());
                }
                first_bad(value, |c| c.is_whitespace() || ",\"'=".contains(c)).map(|c| {
                    format!(
                        "{} would change how the option list is split",
                        shown_char(c)
                    )
                })
            }
            Place::EnvKey => {
                let ok = value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                (!ok).then(|| "a variable name is [A-Za-z_][A-Za-z0-9_]*".to_string())
            }
            Place::LabelKey => lower_name_problem(value, "a label key"),
            Place::User => {
                let ok = !value.is_empty()
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
                (!ok).then(|| "a user is a name or uid[:gid]".to_string())
            }
            Place::Port => port_problem(value),
            Place::EnvValue | Place::LabelValue | Place::Word | Place::Comment => None,
        }
    }
}

/// Why `value` is not `what` of the form `[a-z][a-z0-9_.-]*` (a stage name, a label key).
fn lower_name_problem(value: &str, what: &str) -> Option<String> {
    let ok = value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    (!ok).then(|| format!("{what} is [a-z][a-z0-9_.-]*"))
}

/// `value` with its control characters written as escapes, for an error message.
pub fn shown(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        if is_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn shown_char(c: char) -> String {
    if is_control(c) {
        format!("`{}`", c.escape_default())
    } else if c.is_whitespace() {
        format!("a space (U+{:04X})", u32::from(c))
    } else {
        format!("`{c}`")
    }
}

fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

fn first_bad(value: &str, bad: impl Fn(char) -> bool) -> Option<char> {
    value.chars().find(|&c| bad(c))
}

fn control_problem(value: &str) -> Option<String> {
    first_bad(value, is_control).map(|c| {
        format!(
            "it holds a control character ({}); a line break would end the Dockerfile instruction and start another",
            shown_char(c)
        )
    })
}

/// The error for `value`, from `origin` (a flag such as `` `--base-image` `` or a config key
/// and its file), which is not `what`.
fn refuse(value: &str, origin: &str, what: &str, problem: &str, hint: &str) -> Error {
    Error::input(format!(
        "`{}` (from {origin}) is not {what}: {problem}",
        shown(value)
    ))
    .with_hint(hint.to_string())
}

pub(super) fn checked(
    value: &str,
    origin: &str,
    what: &str,
    hint: &str,
    problem: Option<String>,
) -> Result<()> {
    match control_problem(value).or(problem) {
        None => Ok(()),
        Some(p) => Err(refuse(value, origin, what, &p, hint)),
    }
}

// ------------------------------------------------------------------ cargo names

/// Unicode letters and digits, `-` and `_`, not starting with `-`: a package's or a target's name.
fn cargo_name_ok(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

/// The name of a package or of a target (`--bin`, `--example`, ...).
pub fn cargo_name(value: &str, origin: &str) -> Result<()> {
    checked(
        value,
        origin,
        "a cargo name",
        "cargo names are letters, digits, `-` and `_`",
        (!cargo_name_ok(value)).then(|| "only letters, digits, `-` and `_` are allowed".into()),
    )
}

/// A package spec of `--package` or `--exclude`: `NAME`, `NAME@VERSION` (or the older
/// `NAME:VERSION`); the name may be a glob (`ws-*`), which cargo matches against the workspace.
pub fn package_spec(value: &str, origin: &str) -> Result<()> {
    let (name, version) = match value.split_once(['@', ':']) {
        Some((n, v)) => (n, Some(v)),
        None => (value, None),
    };
    let glob_name = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_*?[]".contains(c));
    let problem = if glob_name {
        version
            .filter(|v| !version_ok(v))
            .map(|v| format!("the version `{v}` is not a semver version"))
    } else {
        Some(format!(
            "the name `{name}` is not letters, digits, `-` and `_`"
        ))
    };
    checked(
        value,
        origin,
        "a package spec",
        "give a package name, NAME@VERSION, or a glob such as `ws-*`",
        problem,
    )
}

/// A semver version (or the part of one that cargo accepts in a spec): digits, letters, `.`,
/// `+`, `-`.
fn version_ok(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c))
}

/// A version of a tool to install (`--nextest-version`): semver.
pub fn version(value: &str, origin: &str) -> Result<()> {
    checked(
        value,
        origin,
        "a version",
        "give a version such as 0.9.151",
        (!version_ok(value)).then(|| "a version is digits, letters, `.`, `+` and `-`".into()),
    )
}

/// A feature name: a letter, digit or `_` first, then letters, digits, `_`, `-`, `+`, `.`.
fn feature_name_ok(name: &str) -> bool {
    name.starts_with(|c: char| c.is_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_-+.".contains(c))
}

/// One feature: `NAME`, `PACKAGE/NAME` or `dep:NAME`.
pub fn feature_problem(feature: &str) -> Option<String> {
    let ok = if let Some(dep) = feature.strip_prefix("dep:") {
        cargo_name_ok(dep)
    } else if let Some((pkg, feat)) = feature.split_once('/') {
        cargo_name_ok(pkg.strip_suffix('?').unwrap_or(pkg)) && feature_name_ok(feat)
    } else {
        feature_name_ok(feature)
    };
    (!ok).then(|| {
        format!("`{feature}` is not a feature name (NAME, PACKAGE/NAME or dep:NAME; letters, digits, `_`, `-`, `+`, `.`)")
    })
}

/// A `--features` value: features separated by spaces or commas.
pub fn features(value: &str, origin: &str) -> Result<()> {
    let problem = value
        .split([' ', ','])
        .filter(|f| !f.is_empty())
        .find_map(feature_problem);
    checked(
        value,
        origin,
        "a list of features",
        "give features separated by commas, such as `--features json,tls` or `--features my-crate/json`",
        problem,
    )
}

/// A profile name: letters, digits, `-` and `_`.
pub fn profile(value: &str, origin: &str) -> Result<()> {
    let ok = value.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    checked(
        value,
        origin,
        "a profile name",
        "profile names are ASCII letters, digits, `-` and `_`, such as `release` or `ci`",
        (!ok).then(|| "only ASCII letters, digits, `-` and `_` are allowed".into()),
    )
}

/// `--jobs`: a number (negative: that many fewer than the CPUs) or `default`.
pub fn jobs(value: &str, origin: &str) -> Result<()> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let ok =
        value == "default" || (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()));
    checked(
        value,
        origin,
        "a number of jobs",
        "give a number such as 4, or `default`",
        (!ok).then(|| "only digits (with an optional leading `-`) or `default`".into()),
    )
}

/// A target triple (`--target`, `build.target`): `x86_64-unknown-linux-gnu`, `wasm32-wasip1`.
pub fn target_triple(value: &str, origin: &str) -> Result<()> {
    let spec_file = std::path::Path::new(value)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let problem = if spec_file {
        Some(
            "a custom target specification file cannot be installed with `rustup target add`"
                .into(),
        )
    } else {
        let ok = value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.contains('-')
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        (!ok).then(|| "a target triple is letters, digits, `_` and `.`, joined by `-`".into())
    };
    checked(
        value,
        origin,
        "a target triple",
        "give a triple that `rustup target list` shows, such as x86_64-unknown-linux-musl",
        problem,
    )
}

/// A Rust release for a base image's tag: `1.95` or `1.95.0`.
pub fn rust_release(value: &str, origin: &str) -> Result<()> {
    let parts: Vec<&str> = value.split('.').collect();
    let ok = (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    checked(
        value,
        origin,
        "a Rust release such as 1.95 or 1.95.0",
        "for other toolchains, pass the image itself with --base-image",
        (!ok).then(|| "it is not two or three dot-separated numbers".into()),
    )
}

/// Every cargo flag that a Dockerfile's `RUN` lines, paths and comments carry, each checked
/// for its kind, the error naming the flag.
pub fn build_flags(flags: &BuildFlags) -> Result<()> {
    if let Some(p) = &flags.profile {
        profile(p, "`--profile`")?;
    }
    for f in &flags.features {
        features(f, "`--features`")?;
    }
    for t in &flags.target {
        target_triple(t, "`--target`")?;
    }
    for p in &flags.package {
        package_spec(p, "`--package`")?;
    }
    for p in &flags.exclude {
        package_spec(p, "`--exclude`")?;
    }
    for (origin, names) in [
        ("`--bin`", &flags.bin),
        ("`--example`", &flags.example),
        ("`--test`", &flags.test),
        ("`--bench`", &flags.bench),
    ] {
        for n in names {
            cargo_name(n, origin)?;
        }
    }
    if let Some(j) = &flags.jobs {
        jobs(j, "`--jobs`")?;
    }
    if let Some(d) = &flags.target_dir {
        path(d, "`--target-dir`")?;
    }
    for z in &flags.unstable {
        text(z, "`-Z`")?;
    }
    Ok(())
}

// ------------------------------------------------------------------ Debian packages

/// A Debian package for apt-get: `NAME[:ARCH][=VERSION]`, the name `[a-z0-9][a-z0-9+.-]+`.
pub fn debian_package(value: &str, origin: &str) -> Result<()> {
    let (name_arch, version) = match value.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (value, None),
    };
    let (name, arch) = match name_arch.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (name_arch, None),
    };
    let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let name_ok = name.len() >= 2
        && name.starts_with(lower)
        && name.chars().all(|c| lower(c) || "+.-".contains(c));
    let problem = if !name_ok {
        Some(format!("`{name}` is not [a-z0-9][a-z0-9+.-]+"))
    } else if arch.is_some_and(|a| a.is_empty() || !a.chars().all(|c| lower(c) || c == '-')) {
        Some("the architecture after `:` is not [a-z0-9-]+".into())
    } else if version.is_some_and(|v| {
        !v.starts_with(|c: char| c.is_ascii_digit())
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+~:-".contains(c))
    }) {
        Some("the version after `=` is not a Debian version".into())
    } else {
        None
    };
    checked(
        value,
        origin,
        "a Debian package name",
        "pass one package per --apt/--runtime-apt (NAME, NAME:ARCH or NAME=VERSION), e.g. --apt libssl-dev --apt pkg-config",
        problem,
    )
}

// ------------------------------------------------------------------ paths and text

/// What a path may hold besides letters and digits: nothing that `WORKDIR` or `COPY` expand
/// (`$`) or split at (whitespace), that a `--mount` option list splits at (`,`, `=`, quotes),
/// that a shell expands, or that a `.dockerignore` line starts with (`#`, `!`).
const PATH_CHARS: &str = "-_./+@%:~";

fn path_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".into());
    }
    first_bad(value, |c| !(c.is_alphanumeric() || PATH_CHARS.contains(c))).map(|c| {
        format!(
            "{} cannot be written safely in WORKDIR, COPY, a RUN --mount option or a shell word without changing its meaning",
            shown_char(c)
        )
    })
}

/// A path that goes into `WORKDIR`, `COPY`, a cache mount's `target=`, shell commands and a
/// `.dockerignore`: letters, digits and `-_./+@%:~` (no whitespace, quotes, `$`, `\`, `,`, `=`
/// or glob characters).
pub fn path(value: &str, origin: &str) -> Result<()> {
    checked(
        value,
        origin,
        "a plain path",
        "use a path of letters, digits and `-_./+@%:~` only",
        path_problem(value),
    )
}

/// Free text that goes into a comment or a quoted word: no control characters.
pub fn text(value: &str, origin: &str) -> Result<()> {
    match control_problem(value) {
        None => Ok(()),
        Some(p) => Err(
            Error::input(format!("`{}` (from {origin}): {p}", shown(value)))
                .with_hint("remove the line break or control character"),
        ),
    }
}

// ------------------------------------------------------------------ runtime values

fn env_name_problem(name: &str) -> Option<String> {
    Place::EnvKey.problem(name)
}

/// A `KEY=VALUE` of `--env`/`--runtime-env`: the name `[A-Za-z_][A-Za-z0-9_]*`, the value
/// any text without control characters (it is double-quoted in `ENV`).
pub fn env_pair(value: &str, origin: &str) -> Result<(String, String)> {
    let hint = "give NAME=VALUE, such as SQLX_OFFLINE=true (quote the whole option for spaces)";
    let Some((k, v)) = value.split_once('=') else {
        return Err(refuse(value, origin, "NAME=VALUE", "it has no `=`", hint));
    };
    checked(value, origin, "NAME=VALUE", hint, env_name_problem(k))?;
    Ok((k.to_string(), v.to_string()))
}

/// Every `KEY=VALUE` of a repeatable option, checked by [`env_pair`].
pub fn env_pairs(values: &[String], origin: &str) -> Result<Vec<(String, String)>> {
    values.iter().map(|e| env_pair(e, origin)).collect()
}

/// A `NAME[=DEFAULT]` of `--build-arg`.
pub fn build_arg(value: &str, origin: &str) -> Result<(String, Option<String>)> {
    let (k, v) = match value.split_once('=') {
        Some((k, v)) => (k, Some(v.to_string())),
        None => (value, None),
    };
    checked(
        value,
        origin,
        "NAME[=DEFAULT]",
        "give a build argument's name, optionally with a default, such as GIT_SHA or PROFILE=release",
        env_name_problem(k),
    )?;
    Ok((k.to_string(), v))
}

fn port_problem(value: &str) -> Option<String> {
    let (port, proto) = match value.split_once('/') {
        Some((p, proto)) => (p, Some(proto)),
        None => (value, None),
    };
    let number_ok = !port.is_empty()
        && port.chars().all(|c| c.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n));
    if !number_ok {
        Some(format!("`{port}` is not a port number from 1 to 65535"))
    } else if proto.is_some_and(|p| p != "tcp" && p != "udp") {
        Some("the protocol after `/` is not tcp or udp".into())
    } else {
        None
    }
}

/// A port of `--expose`: `PORT` or `PORT/tcp|udp`.
pub fn port(value: &str, origin: &str) -> Result<()> {
    checked(
        value,
        origin,
        "a port",
        "give a port number such as 8080, or 53/udp",
        port_problem(value),
    )
}

/// A user of `--user`: `UID[:GID]` (numbers; a name needs an /etc/passwd entry in the image).
pub fn user(value: &str, origin: &str) -> Result<()> {
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let ok = match value.split_once(':') {
        Some((u, g)) => number(u) && number(g),
        None => number(value),
    };
    checked(
        value,
        origin,
        "UID[:GID]",
        "give numbers, such as 10001 or 10001:10001: a user by number needs no entry in /etc/passwd, so every runtime image has it",
        (!ok).then(|| "a user id and an optional group id, both numbers".into()),
    )
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
