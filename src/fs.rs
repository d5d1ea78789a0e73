//! File-system wrappers that put the path in every error.

use std::fs;
use std::path::{Component, Path};

use crate::error::{Error, Result};

/// Reads a file to a string.
pub fn read_to_string(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Error::io("read", path, &e))
}

/// Reads a file to bytes.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io("read", path, &e))
}

/// Writes a file, creating its parent directories.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    fs::write(path, contents).map_err(|e| Error::io("write", path, &e))
}

/// Writes a file through a temporary sibling and a rename, so a reader never sees half of it
/// and an existing file is only replaced once the new content is complete.
pub fn write_atomic(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    create_dir_all(dir)?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io("create a file in", dir, &e))?;
    std::io::Write::write_all(&mut tmp, contents.as_ref())
        .map_err(|e| Error::io("write", tmp.path(), &e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("write", path, &e.error))?;
    Ok(())
}

/// Refuses to go through a symlink anywhere between `root` and `root/rel` (`rel` included):
/// prewarm never writes or deletes through a link it did not make.
pub fn check_no_symlink(root: &Path, rel: &Path) -> Result<()> {
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        let Component::Normal(part) = c else { continue };
        cur.push(part);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::input(format!(
                    "refusing to write through the symlink `{}`",
                    cur.display()
                ))
                .with_hint("remove the link (prewarm only writes real files and directories it owns), or use another directory"));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// Writes `root/rel` as a new file renamed over the path, after checking that no part of `rel`
/// is a symlink: neither a planted link nor a hard link to someone else's file is ever written
/// through.
pub fn write_under(root: &Path, rel: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    check_no_symlink(root, rel)?;
    write_atomic(&root.join(rel), contents)
}

/// Writes an output file the user named (`--output`), atomically, without clobbering what
/// prewarm did not write: an existing regular file is replaced only when `is_ours` recognises
/// its content (or `force`); a directory, device, FIFO or symlink is always refused.
pub fn write_output(
    path: &Path,
    contents: impl AsRef<[u8]>,
    is_ours: impl Fn(&[u8]) -> bool,
    what: &str,
    force: bool,
) -> Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("inspect", path, &e)),
        Ok(m) if !m.file_type().is_file() => {
            let kind = if m.file_type().is_symlink() {
                "a symlink"
            } else if m.is_dir() {
                "a directory"
            } else {
                "not a regular file"
            };
            return Err(Error::input(format!(
                "refusing to write `{}`: it is {kind}",
                path.display()
            ))
            .with_hint("name a regular file (or a new path) as the output"));
        }
        Ok(_) => {
            if !force && !is_ours(&read(path)?) {
                return Err(Error::input(format!(
                    "refusing to overwrite `{}`: it exists and is not {what}",
                    path.display()
                ))
                .with_hint("name another output file, or pass --force to overwrite it"));
            }
        }
    }
    write_atomic(path, contents)
}

/// Creates a directory and its parents.
pub fn create_dir_all(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| Error::io("create directory", path, &e))
}

/// Removes a file; a missing file is not an error.
pub fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, &e)),
        _ => Ok(()),
    }
}

/// Removes a directory tree; a missing directory is not an error.
pub fn remove_dir_all(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, &e)),
        _ => Ok(()),
    }
}

/// Removes a directory if it is empty; anything else is left alone.
pub fn remove_dir_if_empty(path: &Path) {
    let _ = fs::remove_dir(path);
}

/// The sha256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let mut hex = String::with_capacity(64);
    for b in sha2::Sha256::digest(bytes) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Canonicalizes a path.
pub fn canonicalize(path: &Path) -> Result<std::path::PathBuf> {
    fs::canonicalize(path).map_err(|e| Error::io("resolve", path, &e))
}

/// Lists a directory's entries (names only), sorted.
pub fn read_dir_names(path: &Path) -> Result<Vec<std::ffi::OsString>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(path).map_err(|e| Error::io("read directory", path, &e))? {
        let entry = entry.map_err(|e| Error::io("read directory", path, &e))?;
        names.push(entry.file_name());
    }
    names.sort();
    Ok(names)
}
