//! Putting the three renderings on disk, each file complete or absent.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::ReportError;
use super::model::Report;

/// File names [`Report::write_dir`] uses.
pub const JSON_FILE_NAME: &str = "aml-report.json";
/// See [`JSON_FILE_NAME`].
pub const CSV_FILE_NAME: &str = "aml-report.csv";
/// See [`JSON_FILE_NAME`].
pub const HTML_FILE_NAME: &str = "aml-report.html";

/// How [`Report::write_dir`] treats report files already in the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse ([`ReportError::AlreadyExists`]) and write nothing if any of the three files exists.
    Refuse,
    /// Replace existing files, each atomically.
    Replace,
}

/// Where [`Report::write_dir`] put the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFiles {
    /// The JSON report.
    pub json: PathBuf,
    /// The CSV report.
    pub csv: PathBuf,
    /// The HTML report.
    pub html: PathBuf,
}

impl Report {
    /// Writes `aml-report.json`, `.csv` and `.html` into `dir` (created if missing).
    ///
    /// Each file is either complete or absent, never half-written: it is written to a temporary file in `dir`,
    /// flushed to disk, and only then moved into place. With [`Overwrite::Refuse`], an existing file of any of the
    /// three names stops the call before anything is written, and a file that appears while writing is not replaced
    /// (the move is a hard link, which cannot clobber); files this call already placed are then removed again.
    pub fn write_dir(&self, dir: &Path, overwrite: Overwrite) -> Result<ReportFiles, ReportError> {
        // Render everything first, so that no failure can come after some files are in place.
        let contents =
            [(JSON_FILE_NAME, self.to_json()?), (CSV_FILE_NAME, self.to_csv()), (HTML_FILE_NAME, self.to_html())];
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let files = ReportFiles {
            json: dir.join(JSON_FILE_NAME),
            csv: dir.join(CSV_FILE_NAME),
            html: dir.join(HTML_FILE_NAME),
        };
        if overwrite == Overwrite::Refuse {
            for path in [&files.json, &files.csv, &files.html] {
                // symlink_metadata: a dangling link is still a name we would clobber.
                if fs::symlink_metadata(path).is_ok() {
                    return Err(ReportError::AlreadyExists { path: path.clone() });
                }
            }
        }
        let mut placed: Vec<PathBuf> = Vec::new();
        for (name, text) in &contents {
            let target = dir.join(name);
            if let Err(error) = place_atomically(dir, name, &target, text.as_bytes(), overwrite) {
                if overwrite == Overwrite::Refuse {
                    // Everything in `placed` was created by this call (a hard link cannot replace a file), so
                    // removing it restores the directory as it was: all three reports or none.
                    for path in &placed {
                        let _ = fs::remove_file(path);
                    }
                }
                return Err(error);
            }
            placed.push(target);
        }
        sync_dir(dir)?;
        Ok(files)
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_owned(), source }
}

/// A temporary file that removes itself unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Distinguishes temporary files of concurrent writers in one process; the pid distinguishes processes.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn create_temp(dir: &Path, name: &str) -> Result<(TempFile, File), ReportError> {
    let mut last_error = None;
    // `create_new` never opens someone else's file; a name left by a crashed writer is skipped, not reused.
    for _ in 0..16 {
        let serial = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.{}.{serial}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((TempFile { path, keep: false }, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last_error = Some((path, error)),
            Err(source) => return Err(ReportError::Io { path, source }),
        }
    }
    let (path, source) = last_error.unwrap_or_else(|| (dir.to_owned(), io::Error::other("no temporary name free")));
    Err(ReportError::Io { path, source })
}

fn place_atomically(
    dir: &Path,
    name: &str,
    target: &Path,
    bytes: &[u8],
    overwrite: Overwrite,
) -> Result<(), ReportError> {
    let (mut temp, mut file) = create_temp(dir, name)?;
    file.write_all(bytes).map_err(io_error(&temp.path))?;
    // The data must be on disk before the name points at it, or a crash could publish an empty file.
    file.sync_all().map_err(io_error(&temp.path))?;
    drop(file);
    match overwrite {
        Overwrite::Replace => {
            fs::rename(&temp.path, target).map_err(io_error(target))?;
            temp.keep = true;
        }
        Overwrite::Refuse => match fs::hard_link(&temp.path, target) {
            // The temporary name is dropped (and removed) below; the target keeps the data.
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                return Err(ReportError::AlreadyExists { path: target.to_owned() });
            }
            // File systems without hard links: check, then rename. A file created between the two would be
            // replaced; the check above already refused every file present when the call began.
            Err(_) => {
                if fs::symlink_metadata(target).is_ok() {
                    return Err(ReportError::AlreadyExists { path: target.to_owned() });
                }
                fs::rename(&temp.path, target).map_err(io_error(target))?;
                temp.keep = true;
            }
        },
    }
    Ok(())
}

/// Makes the renames themselves durable: a directory entry is only safe once the directory is flushed.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), ReportError> {
    File::open(dir).and_then(|handle| handle.sync_all()).map_err(io_error(dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), ReportError> {
    // Directories cannot be opened as files here; the platform orders metadata updates itself.
    Ok(())
}
