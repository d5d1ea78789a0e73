//! The drift record: the settings a cook built with (profile, features, targets, selection,
//! RUSTFLAGS and linker from the environment and cargo config, the environment variables the
//! dependencies' build scripts track, rustc, the working directory), kept in the target
//! directory so `prewarm check` and `prewarm verify` can name every difference between the
//! cook and a planned build before cargo spends minutes on it.
//!
//! The record lies in the cooked layer, so it holds no environment value: each one (the
//! tracked variables, the build scripts' variables, every `[env]` value of every cargo config
//! file, `$CARGO_HOME/config.toml`'s included) is kept as its sha256, and compared as one.

//!
//! Three concerns, three files: [`capture`] reads a build's settings from its flags, the
//! environment, cargo config and rustc; this file stores records in the target directory;
//! [`diff`] names what differs between a record and a planned build.

mod capture;
mod diff;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::flags::{BuildFlags, Mode};

pub use capture::{
    build_script_env_names, capture, process_env, profile_name, selection_args, Settings,
};
pub use diff::{diff, nearest, Difference};

/// Where the records live, relative to the target directory.
pub const RECORD_FILE: &str = ".prewarm/cook-records.json";

/// The record format.
pub const SCHEMA: &str = "prewarm-cook-record/2";

/// How many cooks one target directory remembers (a Dockerfile may cook dev and release).
const KEEP: usize = 16;

/// One cook, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The prewarm version that cooked.
    pub prewarm_version: String,
    /// The digest of the recipe cooked.
    pub recipe_digest: String,
    /// Seconds since the Unix epoch.
    pub cooked_at: u64,
    /// External units the cook built or found fresh.
    pub external_units: usize,
    /// The settings.
    pub settings: Settings,
}

/// The file in the target directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Records {
    /// [`SCHEMA`].
    pub schema: String,
    /// Oldest first.
    pub records: Vec<Record>,
}

/// `sha256:<hex>` of a value.
pub fn digest(value: &str) -> String {
    format!("sha256:{}", crate::fs::sha256_hex(value.as_bytes()))
}

fn is_digest(value: &str) -> bool {
    value
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A value's digest, or the value if it is one already (a recorded value).
fn as_digest(value: &str) -> String {
    if is_digest(value) {
        value.to_string()
    } else {
        digest(value)
    }
}

/// Whether a flattened config key is an `[env]` value.
fn is_env_key(key: &str) -> bool {
    key.starts_with("env.")
}

/// The path of the records file in `target_dir`.
pub fn path_in(target_dir: &Path) -> PathBuf {
    target_dir.join(RECORD_FILE)
}

/// Reads the records in `target_dir`, if there are any.
pub fn load(target_dir: &Path) -> Result<Option<Records>> {
    let path = path_in(target_dir);
    if !path.is_file() {
        return Ok(None);
    }
    let text = crate::fs::read_to_string(&path)?;
    let records: Records = serde_json::from_str(&text).map_err(|e| {
        Error::input(format!(
            "`{}` is not a prewarm cook record: {e}",
            path.display()
        ))
        .with_hint("cook again with this prewarm version to write a new record")
    })?;
    if records.schema != SCHEMA {
        return Err(Error::input(format!(
            "`{}` has format `{}`, but this prewarm reads `{SCHEMA}`",
            path.display(),
            records.schema
        ))
        .with_hint("cook again with this prewarm version to write a new record"));
    }
    Ok(Some(records))
}

/// Adds `record` to the records in `target_dir` (replacing a record of the same settings).
pub fn append(target_dir: &Path, record: Record) -> Result<PathBuf> {
    let path = path_in(target_dir);
    let mut records = load(target_dir).ok().flatten().unwrap_or(Records {
        schema: SCHEMA.to_string(),
        records: Vec::new(),
    });
    records.records.retain(|r| r.settings != record.settings);
    records.records.push(record);
    let excess = records.records.len().saturating_sub(KEEP);
    records.records.drain(..excess);
    let mut text = serde_json::to_string_pretty(&records).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot serialise the cook record: {e}"),
        )
    })?;
    text.push('\n');
    crate::fs::write_under(target_dir, Path::new(RECORD_FILE), text)?;
    Ok(path)
}

/// What a cook knows when it writes its record.
#[derive(Debug)]
pub struct CookFacts<'a> {
    /// The recipe's digest.
    pub recipe_digest: &'a str,
    /// Where the build ran.
    pub workspace_dir: &'a Path,
    /// The target (and build) directories.
    pub target_dirs: &'a [PathBuf],
    /// The cargo command.
    pub mode: Mode,
    /// The flags as the user gave them.
    pub flags: &'a BuildFlags,
    /// Extra cargo arguments.
    pub extra: &'a [String],
    /// External units built or fresh.
    pub external_units: usize,
}

/// Writes the record of a finished cook into the first target directory; `None` when cargo
/// made no target directory (nothing was built), so that no stray file appears in the skeleton.
pub fn write_after_cook(facts: &CookFacts<'_>) -> Result<Option<PathBuf>> {
    let Some(dir) = facts.target_dirs.first() else {
        return Ok(None);
    };
    if !dir.join("CACHEDIR.TAG").is_file() {
        return Ok(None);
    }
    let env = process_env();
    let mut settings = capture(
        facts.workspace_dir,
        facts.mode,
        facts.flags,
        facts.extra,
        &env,
    )?;
    settings.build_script_env = build_script_env_names(facts.target_dirs)
        .into_iter()
        .map(|n| {
            let v = env.get(&n).cloned();
            (n, v)
        })
        .collect();
    let record = Record {
        prewarm_version: env!("CARGO_PKG_VERSION").to_string(),
        recipe_digest: facts.recipe_digest.to_string(),
        cooked_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        external_units: facts.external_units,
        settings: settings.digested(),
    };
    append(dir, record).map(Some)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use toml::Table;

    use super::capture::{flatten, render_value, split_features};
    use super::*;
    use crate::reasons::Category;

    fn settings() -> Settings {
        Settings {
            mode: Mode::Build,
            profile: "dev".into(),
            features: vec![],
            all_features: false,
            no_default_features: false,
            targets: vec![],
            selection: vec![],
            extra: vec![],
            env: BTreeMap::new(),
            config: BTreeMap::new(),
            build_script_env: BTreeMap::new(),
            rustc: "rustc 1.95.0".into(),
            workspace_dir: "/app".into(),
        }
    }

    #[test]
    fn differences_are_named_and_categorised() {
        let cook = settings();
        let mut planned = settings();
        planned.profile = "release".into();
        planned.env.insert(
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER".into(),
            "gcc".into(),
        );
        planned
            .config
            .insert("build.rustflags".into(), "[\"-D\", \"warnings\"]".into());
        planned.workspace_dir = "/elsewhere".into();
        let d = diff(&cook, &planned, &BTreeMap::new());
        let got: Vec<(&str, Category, bool)> = d
            .iter()
            .map(|d| (d.setting.as_str(), d.category, d.harmless))
            .collect();
        assert_eq!(
            got,
            [
                ("profile", Category::Profile, false),
                (
                    "env CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
                    Category::Linker,
                    false
                ),
                ("config build.rustflags", Category::Rustflags, false),
                ("workspace directory", Category::Path, true),
            ]
        );
    }

    #[test]
    fn build_script_variables_compare_with_the_planned_environment() {
        let mut cook = settings();
        cook.build_script_env
            .insert("LIBC_BUILD_VERBOSE".into(), None);
        let env: BTreeMap<String, String> =
            [("LIBC_BUILD_VERBOSE".to_string(), "1".to_string())].into();
        let d = diff(&cook, &settings(), &env);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].cook.as_str(), d[0].build.as_str(), d[0].category),
            ("(unset)", "1", Category::Env)
        );
    }

    #[test]
    fn a_record_holds_digests_of_environment_values_and_compares_them() {
        let mut planned = settings();
        planned.env.insert("RUSTFLAGS".into(), "-Cfoo".into());
        planned
            .config
            .insert("env.API_TOKEN".into(), "tok-123".into());
        planned
            .config
            .insert("build.rustflags".into(), "[\"-Cbar\"]".into());
        let mut cook = planned.clone();
        cook.build_script_env
            .insert("TRACKED".into(), Some("value-9".into()));
        let recorded = cook.digested();
        let text = serde_json::to_string(&recorded).unwrap();
        for value in ["-Cfoo", "tok-123", "value-9"] {
            assert!(!text.contains(value), "{text}");
        }
        assert!(text.contains(&digest("value-9")), "{text}");
        assert!(
            text.contains("-Cbar"),
            "config other than [env] stays: {text}"
        );
        assert_eq!(
            recorded.digested(),
            recorded,
            "digesting twice changes nothing"
        );

        let env: BTreeMap<String, String> = [("TRACKED".to_string(), "value-9".to_string())].into();
        assert_eq!(diff(&recorded, &planned, &env), []);

        planned.env.insert("RUSTFLAGS".into(), "-Cother".into());
        planned
            .config
            .insert("env.API_TOKEN".into(), "tok-456".into());
        let d = diff(&recorded, &planned, &BTreeMap::new());
        let got: Vec<(&str, &str, &str)> = d
            .iter()
            .map(|d| (d.setting.as_str(), d.cook.as_str(), d.build.as_str()))
            .collect();
        let short = |v: &str| digest(v)[..19].to_string();
        assert_eq!(
            got,
            [
                ("env RUSTFLAGS", short("-Cfoo").as_str(), "-Cother"),
                (
                    "config env.API_TOKEN",
                    short("tok-123").as_str(),
                    short("tok-456").as_str()
                ),
                (
                    "build-script env TRACKED",
                    short("value-9").as_str(),
                    "(unset)"
                ),
            ]
        );
    }

    #[test]
    fn config_arrays_join_and_scalars_override() {
        let mut out = BTreeMap::new();
        let a: Table = toml::from_str("[build]\nrustflags = [\"-C\", \"a\"]\n[target.x86_64-unknown-linux-gnu]\nlinker = \"cc\"").unwrap();
        let b: Table = toml::from_str("[build]\nrustflags = [\"-C\", \"b\"]\n[target.x86_64-unknown-linux-gnu]\nlinker = \"gcc\"").unwrap();
        for t in [&a, &b] {
            for key in ["build", "target"] {
                flatten(key, &t[key], &mut out);
            }
        }
        assert_eq!(
            render_value(&out["build.rustflags"]),
            r#"["-C", "a", "-C", "b"]"#
        );
        assert_eq!(
            render_value(&out["target.x86_64-unknown-linux-gnu.linker"]),
            "gcc"
        );
    }

    #[test]
    fn features_are_normalised() {
        let f = split_features(&["b,a".into(), "c a".into()]);
        assert_eq!(f, ["a", "b", "c"]);
    }
}
