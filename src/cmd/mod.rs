//! The verbs of the command line, one file each, each with its `Args` (`image` takes the
//! library's [`crate::image::ImageArgs`]) and `run`; what a verb resolves lives in the library.

pub mod builder_report;
pub mod check;
pub mod ci;
pub mod cook;
pub mod deps;
pub mod image;
pub mod recipe;
pub mod report;
pub mod tier;
pub mod verify;
