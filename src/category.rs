//! [`Category`]: why a unit rebuilt or a setting differs, in terms a person can act on. The
//! cook record's diff, `prewarm check` and `prewarm verify` all speak in it.

use serde::Serialize;

/// Why an external unit rebuilt (or a setting differs), in terms a person can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Different features were enabled.
    Features,
    /// A different profile (or profile settings).
    Profile,
    /// Different RUSTFLAGS.
    Rustflags,
    /// A different linker (cargo's "config settings": the target linker).
    Linker,
    /// An environment variable a build script or crate tracks changed.
    Env,
    /// A different `--target` (compile kind).
    Target,
    /// The source or output path changed.
    Path,
    /// A different rustc.
    Toolchain,
    /// A source file is newer than the unit's last build.
    Mtime,
    /// Different packages or targets selected (`-p`, `--bin`, ...).
    Selection,
    /// A different cargo command (`build`, `check`, ...).
    Mode,
    /// The cook never built this unit, and no setting difference explains why.
    NotCooked,
    /// A dependency rebuilt, and its own reason is unknown.
    Dependency,
    /// A reason cargo gave that fits none of the above.
    Other,
    /// Cargo said nothing about this unit.
    Unknown,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 15] = [
        Category::Profile,
        Category::Features,
        Category::Rustflags,
        Category::Linker,
        Category::Target,
        Category::Env,
        Category::Toolchain,
        Category::Path,
        Category::Mtime,
        Category::Selection,
        Category::Mode,
        Category::NotCooked,
        Category::Dependency,
        Category::Other,
        Category::Unknown,
    ];

    /// The kebab-case name used in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Category::Features => "features",
            Category::Profile => "profile",
            Category::Rustflags => "rustflags",
            Category::Linker => "linker",
            Category::Env => "env",
            Category::Target => "target",
            Category::Path => "path",
            Category::Toolchain => "toolchain",
            Category::Mtime => "mtime",
            Category::Selection => "selection",
            Category::Mode => "mode",
            Category::NotCooked => "not-cooked",
            Category::Dependency => "dependency",
            Category::Other => "other",
            Category::Unknown => "unknown",
        }
    }

    /// A short label for people.
    pub fn label(self) -> &'static str {
        match self {
            Category::Features => "features differ",
            Category::Profile => "profile differs",
            Category::Rustflags => "RUSTFLAGS differ",
            Category::Linker => "linker differs",
            Category::Env => "environment variable changed",
            Category::Target => "target differs",
            Category::Path => "path changed",
            Category::Toolchain => "toolchain changed",
            Category::Mtime => "source modification time",
            Category::Selection => "package/target selection differs",
            Category::Mode => "cargo command differs",
            Category::NotCooked => "not built by the cook",
            Category::Dependency => "a dependency rebuilt",
            Category::Other => "other fingerprint change",
            Category::Unknown => "no reason reported by cargo",
        }
    }

    /// What to do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Category::Features => "pass the same --features/--all-features/--no-default-features to cook and build",
            Category::Profile => "pass the same --release/--profile to cook and build",
            Category::Rustflags => "set the same RUSTFLAGS (env, [build] or [target] config) for cook and build",
            Category::Linker => "use the same linker setting (CARGO_TARGET_<TRIPLE>_LINKER or [target] linker) for cook and build",
            Category::Env => "give the environment variable the same value in the cook stage and the build stage",
            Category::Target => "pass the same --target to cook and build (an explicit host triple counts as different)",
            Category::Path => "cook and build in the same directory, with the same dependency sources",
            Category::Toolchain => "use the same rustc (toolchain file, image tag, RUSTUP_TOOLCHAIN) for cook and build",
            Category::Mtime => "do not touch dependency sources between cook and build",
            Category::Selection => "pass the same -p/--bin/--workspace selection to cook and build",
            Category::Mode => "cook with the cargo command the build uses (--check, --clippy, --tests-no-run, --doc)",
            Category::NotCooked => "cook with the flags of the real build; see the raw fingerprint lines (--verbose)",
            Category::Dependency => "fix the reason of the dependency it names",
            Category::Other | Category::Unknown => "see the raw fingerprint lines (--verbose)",
        }
    }

    /// True for categories that only pass a dependency's reason on.
    pub fn is_cascade(self) -> bool {
        self == Category::Dependency
    }
}
