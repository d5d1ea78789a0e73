//! The verbs of the command line, one file each, each with its `Args` and `run`.

pub mod builder_report;
pub mod check;
pub mod ci;
pub mod cook;
pub mod deps;
pub mod image;
pub mod image_checks;
pub mod image_config;
pub mod image_runtime;
pub mod recipe;
pub mod tier;
pub mod verify;
