//! The linker a workspace's own cargo config asks for, for the triple being built, and the
//! Debian packages that provide it; and the cross linker a foreign triple needs.
//!
//! Cargo picks a target's rustflags from `target.<triple>.rustflags` and every matching
//! `target.'cfg(...)'.rustflags`, joined, and only when none is set from `build.rustflags`;
//! `target.<triple>.linker` names the linker driver. Config for other triples is ignored, as
//! cargo ignores it. The files are the ones [`crate::config::config_files`] finds (nearest
//! first), parsed once by the caller. [`Linker`] is the one `--linker` picks instead.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use toml::{Table, Value};

/// The linker the project is built with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Linker {
    /// Whatever the toolchain uses by default (`rust-lld` on `x86_64` Linux since Rust 1.90).
    #[default]
    Default,
    /// mold, from Debian's package, driven by the C compiler (`-fuse-ld=mold`).
    Mold,
    /// LLVM's lld from Debian's package, instead of the toolchain's own rust-lld.
    Lld,
}

impl Linker {
    /// Debian packages the linker needs.
    pub fn packages(self) -> &'static [&'static str] {
        match self {
            Linker::Default => &[],
            Linker::Mold => &["mold"],
            Linker::Lld => &["lld"],
        }
    }

    /// rustc flags that select it (empty for the default).
    pub fn rustflags(self) -> &'static str {
        match self {
            Linker::Default => "",
            // The last `-fuse-ld` wins: this one comes after the one rustc adds for rust-lld.
            Linker::Mold => "-C link-arg=-fuse-ld=mold",
            // Turn off the bundled rust-lld, so that `-fuse-ld=lld` finds the system's ld.lld.
            Linker::Lld => "-C linker-features=-lld -C link-arg=-fuse-ld=lld",
        }
    }
}

/// A Debian package the build stages need, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The Debian package.
    pub package: String,
    /// Why, for a comment in the Dockerfile (`` `linker = "clang"` in `.cargo/config.toml` ``).
    pub why: String,
}

/// What the cargo config says about linking the triple being built.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Detected {
    /// Packages to install in the base stage.
    pub needs: Vec<Need>,
    /// Linkers that no Debian package is known for (`` `linker = "foo"` in `...` ``).
    pub unknown: Vec<String>,
    /// A config file that sets rustflags in a `target` table for this triple (so cargo
    /// ignores `build.rustflags`, and with it `CARGO_BUILD_RUSTFLAGS`).
    pub target_rustflags: Option<PathBuf>,
    /// The configured linker driver for this triple, if any.
    pub linker: Option<String>,
    /// The rustflags turn on `+crt-static` (a static binary, also with glibc).
    pub crt_static: bool,
}

/// The triple of the machine the image is built on, as the base image's toolchain sees it.
pub fn host_triple() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// Reads the linker settings for `triple` from `docs` (path, parsed file; nearest first).
/// Paths in the result are shown relative to `shown_from`.
pub fn detect(docs: &[(PathBuf, Table)], triple: &str, shown_from: &Path) -> Detected {
    let mut d = Detected::default();
    let shown = |p: &Path| crate::manifest::relative_to(p, shown_from);
    let mut target_flags: Vec<(String, PathBuf)> = Vec::new();
    for (path, doc) in docs {
        let Some(targets) = doc.get("target").and_then(Value::as_table) else {
            continue;
        };
        for (key, table) in targets {
            let applies = key == triple
                || key
                    .strip_prefix("cfg(")
                    .and_then(|k| k.strip_suffix(')'))
                    .is_some_and(|expr| cfg_matches(expr, triple));
            if !applies {
                continue;
            }
            if let Some(flags) = table.get("rustflags") {
                d.target_rustflags.get_or_insert_with(|| path.clone());
                target_flags.extend(words(flags).into_iter().map(|w| (w, path.clone())));
            }
            if key == triple && d.linker.is_none() {
                if let Some(l) = table.get("linker").and_then(Value::as_str) {
                    d.linker = Some(l.to_string());
                    let why = format!("`linker = \"{l}\"` in `{}`", shown(path));
                    add_driver(&mut d, l, &why);
                }
            }
        }
    }
    let flags = if d.target_rustflags.is_some() {
        target_flags
    } else {
        docs.iter()
            .filter_map(|(path, doc)| {
                let f = doc.get("build")?.get("rustflags")?;
                Some(words(f).into_iter().map(move |w| (w, path.clone())))
            })
            .flatten()
            .collect()
    };
    for (opt, path) in codegen_options(&flags) {
        let why = |what: &str| format!("`{what}` in `{}`", shown(&path));
        if let Some(l) = opt.strip_prefix("linker=") {
            d.linker.get_or_insert_with(|| l.to_string());
            add_driver(&mut d, l, &why(&format!("-C {opt}")));
        } else if let Some(args) = opt
            .strip_prefix("link-arg=")
            .or_else(|| opt.strip_prefix("link-args="))
        {
            for ld in args
                .split_whitespace()
                .filter_map(|a| a.strip_prefix("-fuse-ld="))
            {
                add_ld(&mut d, ld, &why(&format!("-fuse-ld={ld}")));
            }
        } else if let Some(features) = opt.strip_prefix("target-feature=") {
            if features.split(',').any(|f| f == "+crt-static") {
                d.crt_static = true;
            }
        }
    }
    d
}

/// A rustflags value (a string of space-separated flags or an array) as words.
fn words(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The `-C` options among rustflags (`-C opt`, `-Copt`, `--codegen opt`), with their files.
fn codegen_options(flags: &[(String, PathBuf)]) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut it = flags.iter();
    while let Some((w, path)) = it.next() {
        if w == "-C" || w == "--codegen" {
            if let Some((next, _)) = it.next() {
                out.push((next.clone(), path.clone()));
            }
        } else if let Some(opt) = w
            .strip_prefix("-C")
            .or_else(|| w.strip_prefix("--codegen="))
        {
            out.push((opt.to_string(), path.clone()));
        }
    }
    out
}

fn need(d: &mut Detected, package: &str, why: &str) {
    if !d.needs.iter().any(|n| n.package == package) {
        d.needs.push(Need {
            package: package.to_string(),
            why: why.to_string(),
        });
    }
}

/// A linker driver (`linker = ...`, `-C linker=...`) by its file name.
fn add_driver(d: &mut Detected, linker: &str, why: &str) {
    let name = linker.rsplit('/').next().unwrap_or(linker);
    let versioned = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
    };
    match name {
        // In every rust image already (gcc, binutils), or shipped with the toolchain.
        "cc" | "gcc" | "c++" | "g++" | "rust-lld" => {}
        "clang" | "clang++" => need(d, "clang", why),
        "ld.lld" | "lld" => need(d, "lld", why),
        "mold" | "ld.mold" => need(d, "mold", why),
        _ if versioned("clang-") || versioned("gcc-") => need(d, name, why),
        _ => match name.strip_suffix("-gcc") {
            // A cross compiler: `aarch64-linux-gnu-gcc` is Debian's `gcc-aarch64-linux-gnu`.
            Some(prefix) if prefix.contains("-linux-") => {
                need(d, &format!("gcc-{}", prefix.replace('_', "-")), why);
            }
            _ => d.unknown.push(why.to_string()),
        },
    }
}

/// A linker named by `-fuse-ld=`.
fn add_ld(d: &mut Detected, ld: &str, why: &str) {
    let name = ld.rsplit('/').next().unwrap_or(ld);
    match name.strip_prefix("ld.").unwrap_or(name) {
        "lld" => need(d, "lld", why),
        "mold" => need(d, "mold", why),
        // GNU ld and gold come with binutils, which gcc pulls into every rust image.
        "bfd" | "gold" => {}
        _ => d.unknown.push(why.to_string()),
    }
}

// ------------------------------------------------------------------ triples and cfg()

/// `target_arch` as rustc names it for a triple's first part.
fn arch(triple: &str) -> &str {
    let first = triple.split('-').next().unwrap_or(triple);
    match first {
        a if a.starts_with("armv") || a.starts_with("thumbv") || a == "arm" => "arm",
        "i386" | "i586" | "i686" => "x86",
        a if a.starts_with("riscv64") => "riscv64",
        a if a.starts_with("riscv32") => "riscv32",
        a => a,
    }
}

fn os(triple: &str) -> &'static str {
    let has = |s: &str| triple.split('-').any(|p| p.starts_with(s));
    if has("linux") {
        "linux"
    } else if has("windows") {
        "windows"
    } else if has("darwin") {
        "macos"
    } else if has("wasi") {
        "wasi"
    } else if has("none") {
        "none"
    } else {
        "unknown"
    }
}

fn env(triple: &str) -> &'static str {
    let last = triple.rsplit('-').next().unwrap_or("");
    if last.starts_with("gnu") {
        "gnu"
    } else if last.starts_with("musl") {
        "musl"
    } else if last == "msvc" {
        "msvc"
    } else {
        ""
    }
}

/// Whether `triple`'s binaries link their libc statically by default (musl targets).
pub fn static_by_default(triple: &str) -> bool {
    env(triple) == "musl"
}

fn cfg_value(key: &str, triple: &str) -> Option<String> {
    let family = match os(triple) {
        "linux" | "macos" => "unix",
        "windows" => "windows",
        _ if triple.starts_with("wasm") => "wasm",
        _ => "",
    };
    let width = if ["x86", "arm", "riscv32"].contains(&arch(triple)) || triple.starts_with("wasm32")
    {
        "32"
    } else {
        "64"
    };
    Some(match key {
        "target_arch" => arch(triple).to_string(),
        "target_os" => os(triple).to_string(),
        "target_env" => env(triple).to_string(),
        "target_family" => family.to_string(),
        "target_vendor" => triple.split('-').nth(1).unwrap_or("unknown").to_string(),
        "target_pointer_width" => width.to_string(),
        _ => return None,
    })
}

/// Evaluates a `cfg(...)` expression (without the `cfg( )`) for `triple`; a predicate it
/// does not know is false, as it is for a triple that lacks it.
pub fn cfg_matches(expr: &str, triple: &str) -> bool {
    let mut p = CfgParser { rest: expr.trim() };
    p.expr(triple).unwrap_or(false) && p.rest.trim().is_empty()
}

struct CfgParser<'a> {
    rest: &'a str,
}

impl CfgParser<'_> {
    fn eat(&mut self, s: &str) -> bool {
        self.rest = self.rest.trim_start();
        match self.rest.strip_prefix(s) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.rest = self.rest.trim_start();
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        let (id, r) = self.rest.split_at(end);
        self.rest = r;
        (!id.is_empty()).then(|| id.to_string())
    }

    fn expr(&mut self, triple: &str) -> Option<bool> {
        let id = self.ident()?;
        if matches!(id.as_str(), "all" | "any" | "not") {
            if !self.eat("(") {
                return None;
            }
            let mut values = Vec::new();
            while !self.eat(")") {
                values.push(self.expr(triple)?);
                if !self.eat(",") && !self.rest.trim_start().starts_with(')') {
                    return None;
                }
            }
            return match id.as_str() {
                "all" => Some(values.iter().all(|v| *v)),
                "any" => Some(values.iter().any(|v| *v)),
                _ => (values.len() == 1).then(|| !values[0]),
            };
        }
        if self.eat("=") {
            self.rest = self.rest.trim_start().strip_prefix('"')?;
            let end = self.rest.find('"')?;
            let value = &self.rest[..end];
            self.rest = &self.rest[end + 1..];
            return Some(cfg_value(&id, triple).is_some_and(|v| v == value));
        }
        Some(match id.as_str() {
            "unix" => cfg_value("target_family", triple).as_deref() == Some("unix"),
            "windows" => os(triple) == "windows",
            _ => false,
        })
    }
}

// ------------------------------------------------------------------ cross linkers

/// The cross linker a foreign triple needs in a Debian image on `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cross {
    /// The Debian package (`gcc-aarch64-linux-gnu`).
    pub package: String,
    /// The driver cargo links with (`aarch64-linux-gnu-gcc`).
    pub program: String,
    /// `CARGO_TARGET_<TRIPLE>_LINKER`.
    pub env: String,
}

/// Whether `triple` needs a linker other than the host's own C compiler (another
/// architecture, or another OS), and which one Debian has: `Ok(None)` when it needs none
/// (the host's arch and OS, wasm and bare-metal targets, which rust-lld links), `Err` when
/// Debian has none.
pub fn cross_linker(triple: &str, host: &str) -> Result<Option<Cross>, String> {
    let same_arch = arch(triple) == arch(host);
    let env_var = format!(
        "CARGO_TARGET_{}_LINKER",
        triple.to_uppercase().replace(['-', '.'], "_")
    );
    let cross = |prefix: String| {
        Ok(Some(Cross {
            package: format!("gcc-{}", prefix.replace('_', "-")),
            program: format!("{prefix}-gcc"),
            env: env_var.clone(),
        }))
    };
    match os(triple) {
        "linux" if same_arch => Ok(None),
        "linux" => {
            let first = triple.split('-').next().unwrap_or(triple);
            let gnu_arch = match arch(triple) {
                "arm" => "arm",
                "x86" => "i686",
                "riscv64" => "riscv64",
                _ => first,
            };
            let last = triple.rsplit('-').next().unwrap_or("gnu");
            let abi = last.replace("musl", "gnu");
            cross(format!("{gnu_arch}-linux-{abi}"))
        }
        "windows" if env(triple) == "gnu" && arch(triple) == "x86_64" => Ok(Some(Cross {
            package: "gcc-mingw-w64-x86-64".into(),
            program: "x86_64-w64-mingw32-gcc".into(),
            env: env_var,
        })),
        "none" | "wasi" | "unknown" if triple.starts_with("wasm") || os(triple) == "none" => {
            Ok(None)
        }
        other => Err(format!("Debian has no linker for {other} targets")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Vec<(PathBuf, Table)> {
        vec![(
            PathBuf::from("/ws/.cargo/config.toml"),
            toml::from_str(text).unwrap(),
        )]
    }

    #[test]
    fn zero_to_production_config() {
        let d = detect(
            &docs("[target.x86_64-unknown-linux-gnu]\nlinker = \"clang\"\nrustflags = [\"-C\", \"link-arg=-fuse-ld=lld\"]\n"),
            "x86_64-unknown-linux-gnu",
            Path::new("/ws"),
        );
        let packages: Vec<&str> = d.needs.iter().map(|n| n.package.as_str()).collect();
        assert_eq!(packages, ["clang", "lld"]);
        assert_eq!(
            d.needs[0].why,
            "`linker = \"clang\"` in `.cargo/config.toml`"
        );
        assert!(d.target_rustflags.is_some() && d.unknown.is_empty());
        // Another triple: nothing applies.
        let other = detect(
            &docs("[target.x86_64-unknown-linux-gnu]\nlinker = \"clang\"\n"),
            "aarch64-unknown-linux-gnu",
            Path::new("/ws"),
        );
        assert_eq!(other, Detected::default());
    }

    #[test]
    fn ripgrep_config_applies_to_no_linux_gnu_triple() {
        let text = "[target.x86_64-pc-windows-msvc]\nrustflags = [\"-C\", \"target-feature=+crt-static\"]\n[target.x86_64-unknown-linux-musl]\nrustflags = [\"-C\", \"target-feature=+crt-static\"]\n";
        let gnu = detect(&docs(text), "x86_64-unknown-linux-gnu", Path::new("/ws"));
        assert_eq!(gnu, Detected::default());
        let musl = detect(&docs(text), "x86_64-unknown-linux-musl", Path::new("/ws"));
        assert!(musl.crt_static && musl.target_rustflags.is_some());
    }

    #[test]
    fn build_rustflags_cfg_and_unknown() {
        let d = detect(
            &docs("[build]\nrustflags = \"-Clink-arg=-fuse-ld=mold -C linker=tcc\"\n"),
            "x86_64-unknown-linux-gnu",
            Path::new("/ws"),
        );
        assert_eq!(d.needs[0].package, "mold");
        assert_eq!(d.unknown, ["`-C linker=tcc` in `.cargo/config.toml`"]);
        let cfg = detect(
            &docs("[target.'cfg(all(target_os = \"linux\", not(target_env = \"musl\")))']\nrustflags = [\"-C\", \"link-arg=-fuse-ld=/usr/bin/ld.lld\"]\n[build]\nrustflags = [\"-C\", \"link-arg=-fuse-ld=mold\"]\n"),
            "x86_64-unknown-linux-gnu",
            Path::new("/ws"),
        );
        let packages: Vec<&str> = cfg.needs.iter().map(|n| n.package.as_str()).collect();
        assert_eq!(
            packages,
            ["lld"],
            "target rustflags replace build.rustflags"
        );
        assert!(cfg_matches("unix", "aarch64-unknown-linux-gnu"));
        assert!(!cfg_matches("windows", "aarch64-unknown-linux-gnu"));
        assert!(cfg_matches(
            "any(target_arch = \"aarch64\", target_pointer_width = \"32\")",
            "armv7-unknown-linux-gnueabihf"
        ));
        assert!(!cfg_matches("all(unix,", "x86_64-unknown-linux-gnu"));
    }

    #[test]
    fn cross_linkers() {
        let host = "x86_64-unknown-linux-gnu";
        let c = cross_linker("aarch64-unknown-linux-gnu", host)
            .unwrap()
            .unwrap();
        assert_eq!(c.package, "gcc-aarch64-linux-gnu");
        assert_eq!(c.program, "aarch64-linux-gnu-gcc");
        assert_eq!(c.env, "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER");
        let arm = cross_linker("armv7-unknown-linux-gnueabihf", host)
            .unwrap()
            .unwrap();
        assert_eq!(arm.package, "gcc-arm-linux-gnueabihf");
        assert_eq!(cross_linker("x86_64-unknown-linux-musl", host), Ok(None));
        assert_eq!(cross_linker("wasm32-wasip1", host), Ok(None));
        assert!(cross_linker("aarch64-apple-darwin", host).is_err());
    }
}
