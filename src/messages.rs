//! Cargo's JSON messages (`--message-format=json`), reduced to what prewarm reports on.

use serde::Deserialize;

/// One compiled (or reused) unit, from a `compiler-artifact` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Cargo's package id.
    pub package_id: String,
    /// Package name, parsed from the id.
    pub package: String,
    /// Target name.
    pub target: String,
    /// Target kinds (`lib`, `bin`, `custom-build`, ...).
    pub kinds: Vec<String>,
    /// Whether cargo reused it without compiling.
    pub fresh: bool,
    /// Whether the package comes from a path (a workspace crate or a path dependency).
    pub local: bool,
    /// The executable, for binaries.
    pub executable: Option<String>,
    /// The files cargo wrote (or found fresh) for the unit.
    pub filenames: Vec<String>,
}

#[derive(Deserialize)]
struct Raw {
    reason: String,
    #[serde(default)]
    package_id: String,
    #[serde(default)]
    target: Option<RawTarget>,
    #[serde(default)]
    fresh: bool,
    #[serde(default)]
    executable: Option<String>,
    #[serde(default)]
    filenames: Vec<String>,
}

#[derive(Deserialize)]
struct RawTarget {
    name: String,
    #[serde(default)]
    kind: Vec<String>,
}

/// Parses one stdout line; `None` for anything but a `compiler-artifact` message.
pub fn parse_artifact(line: &str) -> Option<Artifact> {
    if !line.starts_with('{') {
        return None;
    }
    let raw: Raw = serde_json::from_str(line).ok()?;
    if raw.reason != "compiler-artifact" {
        return None;
    }
    let target = raw.target?;
    Some(Artifact {
        package: package_name(&raw.package_id),
        local: raw.package_id.starts_with("path+"),
        package_id: raw.package_id,
        target: target.name,
        kinds: target.kind,
        fresh: raw.fresh,
        executable: raw.executable,
        filenames: raw.filenames,
    })
}

/// The package name inside a package id: `path+file:///x#name@1.0.0`, `registry+...#name@1.0.0`,
/// `path+file:///x/name#1.0.0` (when the directory is the name), or the old `name 1.0.0 (...)`.
pub fn package_name(id: &str) -> String {
    if let Some((url, frag)) = id.rsplit_once('#') {
        if let Some((name, _)) = frag.split_once('@') {
            return name.to_string();
        }
        return url.rsplit('/').next().unwrap_or(url).to_string();
    }
    id.split(' ').next().unwrap_or(id).to_string()
}

/// The version inside a package id (`...#itoa@1.0.19`, `...#1.0.0`, `itoa 1.0.0 (...)`).
pub fn package_version(id: &str) -> String {
    if let Some((_, frag)) = id.rsplit_once('#') {
        return frag.rsplit_once('@').map_or(frag, |(_, v)| v).to_string();
    }
    id.split(' ').nth(1).unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_package_ids() {
        assert_eq!(
            package_version("registry+https://github.com/rust-lang/crates.io-index#itoa@1.0.19"),
            "1.0.19"
        );
        assert_eq!(package_version("path+file:///w/app#0.1.0"), "0.1.0");
        assert_eq!(package_version("itoa 1.0.0 (registry+https://x)"), "1.0.0");
    }

    #[test]
    fn names_from_ids() {
        assert_eq!(
            package_name("registry+https://github.com/rust-lang/crates.io-index#itoa@1.0.11"),
            "itoa"
        );
        assert_eq!(package_name("path+file:///w/crates/app#0.1.0"), "app");
        assert_eq!(
            package_name("path+file:///w/crates/x#ws-core@0.1.0"),
            "ws-core"
        );
        assert_eq!(package_name("itoa 1.0.0 (registry+https://x)"), "itoa");
    }

    #[test]
    fn artifact_lines() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///w#app@0.1.0","target":{"name":"app","kind":["bin"]},"fresh":false,"executable":"/w/target/debug/app"}"#;
        let a = parse_artifact(line).unwrap();
        assert!(a.local && !a.fresh);
        assert_eq!(a.executable.as_deref(), Some("/w/target/debug/app"));
        assert!(parse_artifact(r#"{"reason":"build-finished","success":true}"#).is_none());
        assert!(parse_artifact("   Compiling x").is_none());
    }
}
