//! Dockerfiles as prewarm writes them, in one room:
//!
//! - [`model`]: the Dockerfile model (stages, instructions, `RUN` with its mounts), rendered
//!   the same way every time, every value checked for the place it goes ([`check::Place`]);
//! - [`quote`]: shell words and `ENV` values; [`check`]: what each kind of value may be, so
//!   that the caller's error names the flag or config key;
//! - [`project`]: the project image of `prewarm image` (base, planner, cook, build stages),
//!   with [`deps`] (the deps stage), [`prewarm_source`] (where prewarm comes from), [`runtime`] (the runtime stages), [`sccache`] and [`tiers`] (the tier stages);
//! - [`image_ref`]: image references, by the distribution spec's grammar;
//! - [`ignore`]: the `.dockerignore`.
//!
//! The shared builder image ([`crate::builder`]) is described with the same model.

pub mod check;
pub mod deps;
mod header;
pub mod ignore;
pub mod image_ref;
pub mod model;
pub mod prewarm_source;
pub mod project;
pub mod quote;
pub mod runtime;
pub mod sccache;
pub mod tiers;

pub use check::Place;
pub use model::{
    Command, Dockerfile, Instruction, Layout, Mount, Run, Sharing, Stage, Step, Word, MARKER,
    SYNTAX,
};
pub use prewarm_source::PrewarmSource;
pub use project::{
    Binary, BuildContext, Incremental, Linker, ProjectImage, BIN_DIR, BUILDER_ARG,
    CARGO_CREDENTIALS, CARGO_HOME, GIT_CREDENTIALS, RECIPE_PATH, SCCACHE_DIR,
};
pub use quote::{shell_line, shell_word};
