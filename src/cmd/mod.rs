//! The verbs of the command line, one file each, each with its `Args` and `run`.

pub mod check;
pub mod cook;
pub mod recipe;
pub mod verify;
