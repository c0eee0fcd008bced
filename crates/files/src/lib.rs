//! # ctchain-files: files written whole
//!
//! Keys, keystores, wallet stores, audit records, reports and proving parameters are written through
//! [`write_atomic`]: the bytes go to a temporary file in the target's directory (so the rename cannot cross file
//! systems), the file is synced, then it takes the target's name, and the directory is synced so that the new
//! name itself survives a crash.
//!
//! ## Invariants
//! * After a crash, a full disk or any error, the target holds either its old contents or the new ones, never
//!   part of either; a failed write removes its temporary file.
//! * [`Replace::Refuse`] never replaces a file, even one created by another process between a check and the
//!   write: the final step is a no-clobber link (`tempfile`'s `persist_noclobber`), not a check then a rename.
//! * [`Access::OwnerOnly`] files are created readable by their owner only (mode `0600` on Unix) before any byte
//!   is written, so a secret is never briefly readable by others.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether an existing file at the target may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Replace it (saving a store, rewriting a keystore under a new password).
    Allow,
    /// Refuse with [`FileError::Exists`] (new keys, new records: never lose what is there).
    Refuse,
}

/// Who may read the written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The owner only: secrets, and data that reveals amounts.
    OwnerOnly,
    /// As the process's umask allows: public material (verifying keys, reports meant to be shared).
    Default,
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The target exists and [`Replace::Refuse`] was asked for; nothing was written.
    #[error("{} already exists; refusing to overwrite it", .0.display())]
    Exists(PathBuf),
    /// The file system refused an operation.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `bytes` to `path` whole (see the crate documentation), creating missing parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8], replace: Replace, access: Access) -> Result<(), FileError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FileError::Io { path, source }
    };
    if replace == Replace::Refuse && std::fs::symlink_metadata(path).is_ok() {
        return Err(FileError::Exists(path.to_path_buf()));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ctchain-").suffix(".tmp");
    // tempfile creates owner-only files; public ones get the usual mode, which the umask then narrows.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match access {
            Access::OwnerOnly => 0o600,
            Access::Default => 0o666,
        };
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = access;
    let mut temp = builder.tempfile_in(dir).map_err(io(dir))?;
    temp.write_all(bytes).map_err(io(temp.path()))?;
    // The data must be on disk before the name points at it, or a crash could publish an empty file.
    temp.as_file().sync_all().map_err(io(temp.path()))?;
    match replace {
        Replace::Allow => temp.persist(path).map(drop).map_err(|e| io(path)(e.error))?,
        Replace::Refuse => temp.persist_noclobber(path).map(drop).map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => FileError::Exists(path.to_path_buf()),
            _ => io(path)(e.error),
        })?,
    }
    sync_dir(dir).map_err(io(dir))
}

/// Makes the rename itself durable: a directory entry is only safe once the directory is flushed.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Directories cannot be opened as files there; the platform orders metadata updates itself.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_refuses_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("key.json");
        write_atomic(&path, b"one", Replace::Refuse, Access::OwnerOnly).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        let refused = write_atomic(&path, b"two", Replace::Refuse, Access::OwnerOnly);
        assert!(matches!(refused, Err(FileError::Exists(p)) if p == path));
        assert_eq!(std::fs::read(&path).unwrap(), b"one", "a refused write changes nothing");
        write_atomic(&path, b"three", Replace::Allow, Access::OwnerOnly).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        let names: Vec<_> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("key.json")], "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn owner_only_files_are_private_and_default_ones_follow_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        let public = dir.path().join("public");
        write_atomic(&secret, b"s", Replace::Refuse, Access::OwnerOnly).unwrap();
        write_atomic(&public, b"p", Replace::Refuse, Access::Default).unwrap();
        assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
        assert_ne!(std::fs::metadata(&public).unwrap().permissions().mode() & 0o044, 0, "readable by others");
    }

    #[test]
    fn a_write_into_a_missing_place_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = write_atomic(&blocker.join("child"), b"y", Replace::Allow, Access::Default).unwrap_err();
        assert!(matches!(&err, FileError::Io { path, .. } if path == &blocker), "{err}");
    }
}
