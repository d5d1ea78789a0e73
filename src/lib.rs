//! prewarm: build a Rust project's dependencies once, in their own cached container layer,
//! and prove that the real build reuses them.
//!
//! The binary is a thin shell over [`cli::main`]; each verb has one file under [`cmd`] that
//! parses its options and calls into the library (cmd/ holds verbs only). The rooms of the
//! library:
//!
//! - planning: [`metadata`] (the one place that runs `cargo metadata`, and finds the manifest),
//!   [`plan`] (a [`plan::Plan`]: the recipe, the workspace and its layout root from one run),
//!   [`manifest`], [`lockfile`], [`config`] (the one reader of cargo config files and the
//!   toolchain file) and [`secrets`] (what goes into a recipe, credentials stripped), [`recipe`]
//!   (the format and its digest);
//! - cooking: [`skeleton`] (laying a recipe out, with its inventory), [`cook`], [`deps`] (the
//!   recipe of the external dependencies alone, from cargo's unit graph), [`tiers`] (the
//!   tier plan) and [`tier_build`] (building one tier in the image), [`artifacts`]
//!   (removing the workspace's own artifacts at exact paths), [`record`] (the cook record:
//!   capture, storage, diff);
//! - proving: [`verify`] (cook, overlay, build, count), [`probe`] (`--edits`), [`reasons`] and
//!   [`category`] (why a unit rebuilt), [`messages`] (cargo's JSON), [`report`] (what the
//!   caches did in a build, read from its log, and the trend over a history of builds);
//! - generating: [`dockerfile`] (the one Dockerfile model in `dockerfile::model`, its checks and
//!   quoting, the project image's stages in `dockerfile::project`, the `.dockerignore`),
//!   [`image`] (`prewarm image`'s options resolved against the workspace into a
//!   [`dockerfile::ProjectImage`]), [`builder`] (the shared rust-builder image, described with
//!   the same model), [`ci`] (GitHub workflows), [`runners`] (Kubernetes manifests of self-hosted
//!   runners with persistent cache volumes), [`linker`] (`--linker` and the linkers a cargo
//!   config asks for), [`defaults`] (the default Rust and Debian releases, the markers of files
//!   prewarm wrote);
//! - plumbing: [`process`] (the one process builder), [`fs`] (file-system calls that name the
//!   path, writes that never go through a link), [`output`] (stdout, status lines, `-q`/`-v`/
//!   `--color`, JSON), [`flags`] (the cargo flags shared by cook, verify and check), [`prune`],
//!   [`error`].

#![forbid(unsafe_code)]

pub mod artifacts;
pub mod builder;
pub mod category;
pub mod ci;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod cook;
pub mod defaults;
pub mod deps;
pub mod dockerfile;
pub mod error;
pub mod flags;
pub mod fs;
pub mod image;
pub mod linker;
pub mod lockfile;
pub mod manifest;
pub mod messages;
pub mod metadata;
pub mod output;
pub mod plan;
pub mod probe;
pub mod process;
pub mod prune;
pub mod reasons;
pub mod recipe;
pub mod record;
pub mod report;
pub mod runners;
pub mod secrets;
pub mod skeleton;
pub mod tier_build;
pub mod tiers;
pub mod verify;

pub use cli::{run, Cli};
pub use error::{Error, ErrorKind, Result};
