//! The runtime options of `prewarm image`: which image ships, and what goes into it.

use std::path::Path;

use clap::{Args, ValueEnum};

use crate::dockerfile::check;
use crate::dockerfile::runtime::RuntimeImage;
use crate::error::{Error, Result};

/// The default runtime image of `--runtime distroless`.
pub const DISTROLESS_IMAGE: &str = "gcr.io/distroless/cc-debian12:nonroot";
/// The default runtime image of `--runtime alpine`.
pub const ALPINE_IMAGE: &str = "alpine:3.21";
/// The runtime stage's working directory when `--runtime-workdir` is not given.
pub const DEFAULT_RUNTIME_WORKDIR: &str = "/app";
/// The runtime user when `--user` is not given.
pub const DEFAULT_USER: &str = "10001:10001";

/// The options of the runtime stage.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// The final stage, with the binary as its entrypoint (scratch and alpine need a static
    /// binary: `--target x86_64-unknown-linux-musl`).
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "KIND",
        help_heading = "Runtime"
    )]
    pub runtime: Runtime,
    /// The image of the runtime stage (the help, in `help`, names the default).
    #[arg(
        long,
        value_name = "IMAGE",
        help_heading = "Runtime",
        help = concat!(
            "The image of the runtime stage [default: debian:",
            crate::defaults::debian_release!(),
            "-slim, or the kind's image]"
        )
    )]
    pub runtime_image: Option<String>,
    /// Debian packages the runtime stage installs (repeatable; e.g. ca-certificates).
    #[arg(long, value_name = "PACKAGE", help_heading = "Runtime")]
    pub runtime_apt: Vec<String>,
    /// An environment variable of the runtime image (repeatable), e.g. `APP_ENVIRONMENT=production`.
    #[arg(long, value_name = "KEY=VALUE", help_heading = "Runtime")]
    pub runtime_env: Vec<String>,
    /// A file or directory of the workspace copied into the runtime image (repeatable); DEST
    /// relative to `--runtime-workdir` [default: the same path there], e.g. `configuration`.
    #[arg(long, value_name = "SRC[:DEST]", help_heading = "Runtime")]
    pub runtime_copy: Vec<String>,
    /// The working directory of the runtime image.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_RUNTIME_WORKDIR, help_heading = "Runtime")]
    pub runtime_workdir: String,
    /// A port the service listens on (repeatable): `PORT` or `PORT/udp`.
    #[arg(long, value_name = "PORT", help_heading = "Runtime")]
    pub expose: Vec<String>,
    /// The user the binary runs as, by number.
    #[arg(long, value_name = "UID[:GID]", default_value = DEFAULT_USER, help_heading = "Runtime")]
    pub user: String,
    /// An argument the binary gets by default (repeatable; the image's `CMD`), e.g.
    /// `--entrypoint-arg=--port --entrypoint-arg=8080`.
    #[arg(
        long,
        value_name = "ARG",
        allow_hyphen_values = true,
        help_heading = "Runtime"
    )]
    pub entrypoint_arg: Vec<String>,
}

/// The final stage of the image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// A slim Debian image with just the binary (`--runtime-image`).
    #[default]
    Slim,
    /// Google's distroless image for glibc binaries: no shell, no package manager.
    Distroless,
    /// An empty image: a static binary only.
    Scratch,
    /// Alpine Linux (musl): a static binary only.
    Alpine,
    /// No runtime stage: the build stage is the image.
    None,
}

impl Runtime {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Slim => "slim",
            Runtime::Distroless => "distroless",
            Runtime::Scratch => "scratch",
            Runtime::Alpine => "alpine",
            Runtime::None => "none",
        }
    }

    /// Whether the binary must not need a libc from the image.
    pub fn needs_static(self) -> bool {
        matches!(self, Runtime::Scratch | Runtime::Alpine)
    }
}

impl RuntimeArgs {
    /// The options as the header's command line writes them.
    pub fn invocation(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.runtime != Runtime::Slim {
            w.push(format!("--runtime={}", self.runtime.name()));
        }
        if let Some(v) = &self.runtime_image {
            w.push(format!("--runtime-image={v}"));
        }
        let mut runtime_apt = self.runtime_apt.clone();
        runtime_apt.sort();
        w.extend(runtime_apt.iter().map(|p| format!("--runtime-apt={p}")));
        if self.runtime_workdir.trim_end_matches('/') != DEFAULT_RUNTIME_WORKDIR {
            w.push(format!("--runtime-workdir={}", self.runtime_workdir));
        }
        for (name, values) in [
            ("runtime-env", &self.runtime_env),
            ("runtime-copy", &self.runtime_copy),
            ("expose", &self.expose),
        ] {
            w.extend(values.iter().map(|v| format!("--{name}={v}")));
        }
        if self.user != DEFAULT_USER {
            w.push(format!("--user={}", self.user));
        }
        w.extend(
            self.entrypoint_arg
                .iter()
                .map(|a| format!("--entrypoint-arg={a}")),
        );
        w
    }
}

/// Resolves the runtime options (`None` for `--runtime none`), each checked, the error naming
/// the option. `workspace` is the workspace root on disk, `in_context` its path in the build
/// context (`.` when the same).
pub fn resolve(
    args: &RuntimeArgs,
    default_slim: &str,
    workspace: &Path,
    in_context: &str,
) -> Result<Option<RuntimeImage>> {
    check_kind(args)?;
    let (image, describe) = match args.runtime {
        Runtime::None => return Ok(None),
        Runtime::Slim => (default_slim, "a slim image"),
        Runtime::Distroless => (DISTROLESS_IMAGE, "a distroless image (no shell, no apt)"),
        Runtime::Scratch => ("scratch", "an empty image (scratch)"),
        Runtime::Alpine => (ALPINE_IMAGE, "an Alpine image"),
    };
    let image = args
        .runtime_image
        .clone()
        .unwrap_or_else(|| image.to_string());
    check::image_ref(&image, "`--runtime-image`")?;
    for p in &args.runtime_apt {
        check::debian_package(p, "`--runtime-apt`")?;
    }
    let workdir = super::check_dir(&args.runtime_workdir, "`--runtime-workdir`")?;
    let env = check::env_pairs(&args.runtime_env, "`--runtime-env`")?;
    let copies = args
        .runtime_copy
        .iter()
        .map(|c| runtime_copy(c, &workdir, workspace, in_context))
        .collect::<Result<Vec<_>>>()?;
    for p in &args.expose {
        check::port(p, "`--expose`")?;
    }
    check::user(&args.user, "`--user`")?;
    for a in &args.entrypoint_arg {
        check::text(a, "`--entrypoint-arg`")?;
    }
    Ok(Some(RuntimeImage {
        image,
        describe: describe.to_string(),
        packages: args.runtime_apt.clone(),
        workdir,
        env,
        copies,
        expose: args.expose.clone(),
        user: args.user.clone(),
        cmd: args.entrypoint_arg.clone(),
    }))
}

/// Refuses runtime options that the kind of runtime cannot honour.
fn check_kind(args: &RuntimeArgs) -> Result<()> {
    let kind = args.runtime;
    if kind == Runtime::None {
        let given = [
            ("--runtime-image", args.runtime_image.is_some()),
            ("--runtime-apt", !args.runtime_apt.is_empty()),
            ("--runtime-env", !args.runtime_env.is_empty()),
            ("--runtime-copy", !args.runtime_copy.is_empty()),
            (
                "--runtime-workdir",
                args.runtime_workdir != DEFAULT_RUNTIME_WORKDIR,
            ),
            ("--expose", !args.expose.is_empty()),
            ("--user", args.user != DEFAULT_USER),
            ("--entrypoint-arg", !args.entrypoint_arg.is_empty()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, on)| *on) {
            return Err(Error::input(format!(
                "`{flag}` is for the runtime stage, but `--runtime none` writes none"
            ))
            .with_hint(format!(
                "drop {flag}, or pick a runtime with --runtime slim"
            )));
        }
    }
    if kind != Runtime::Slim && !args.runtime_apt.is_empty() {
        return Err(Error::input(format!(
            "`--runtime-apt {}` installs Debian packages, but the {} runtime has no apt",
            args.runtime_apt.join(" --runtime-apt "),
            kind.name()
        ))
        .with_hint(if kind == Runtime::Distroless {
            "use --runtime slim for packages; distroless already holds glibc, libgcc, libssl and CA certificates, and --runtime-copy brings in files"
        } else {
            "use --runtime slim for packages, or bring files in with --runtime-copy"
        }));
    }
    Ok(())
}

/// One `--runtime-copy SRC[:DEST]`: the source relative to the build context (it must exist
/// in the workspace), the destination absolute.
fn runtime_copy(
    value: &str,
    workdir: &str,
    workspace: &Path,
    in_context: &str,
) -> Result<(String, String)> {
    let origin = "`--runtime-copy`";
    check::text(value, origin)?;
    let (src, dst) = match value.split_once(':') {
        Some((s, d)) => (s, Some(d)),
        None => (value, None),
    };
    let src = src.trim_end_matches('/');
    check::path(src, origin)?;
    let escapes = Path::new(src).components().any(|c| {
        !matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    });
    if escapes || src == "." {
        return Err(Error::input(format!(
            "`--runtime-copy {value}`: `{src}` is not a path inside the workspace"
        ))
        .with_hint("give a file or directory relative to the workspace root, such as `configuration` or `static/index.html`"));
    }
    if !workspace.join(src).exists() {
        return Err(Error::input(format!(
            "`--runtime-copy {value}`: there is no `{src}` in the workspace (`{}`)",
            workspace.display()
        ))
        .with_hint("give a file or directory relative to the workspace root"));
    }
    let dst = match dst {
        Some(d) if d.starts_with('/') => d.to_string(),
        Some(d) => format!("{workdir}/{d}"),
        None => format!("{workdir}/{src}"),
    };
    check::path(&dst, origin)?;
    let src = if in_context == "." {
        src.to_string()
    } else {
        format!("{in_context}/{src}")
    };
    Ok((src, dst))
}
