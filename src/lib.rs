//! prewarm: build a Rust project's dependencies once, in their own cached container layer,
//! and prove that the real build reuses them.
//!
//! The binary is a thin shell over [`run`]; every verb lives in a module of its own under
//! [`cmd`], every noun in a module of its own.

#![forbid(unsafe_code)]

pub mod artifacts;
pub mod builder;
pub mod category;
pub mod ci;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod cook;
pub mod dockerfile;
pub mod error;
pub mod flags;
pub mod fs;
pub mod linker;
pub mod lockfile;
pub mod manifest;
pub mod messages;
pub mod metadata;
pub mod output;
pub mod plan;
pub mod probe;
pub mod process;
pub mod reasons;
pub mod recipe;
pub mod record;
pub mod secrets;
pub mod skeleton;
pub mod verify;

pub use cli::{run, Cli};
pub use error::{Error, ErrorKind, Result};
