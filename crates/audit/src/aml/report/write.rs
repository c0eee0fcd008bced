//! Putting the three renderings on disk, each file complete or absent.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

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
    /// Each file is either complete or absent, never half-written (`ctchain-files`). With [`Overwrite::Refuse`], an
    /// existing file of any of the three names stops the call before anything is written, and a file that appears
    /// while writing is not replaced (the final step cannot clobber); files this call already placed are then
    /// removed again.
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
            if let Err(error) = place_atomically(&target, text.as_bytes(), overwrite) {
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
        Ok(files)
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_owned(), source }
}

/// One report file, whole (`ctchain-files`: temporary file, sync, rename — or a no-clobber link when replacing
/// is refused — then the directory synced). Reports are meant to be handed on: default permissions.
fn place_atomically(target: &Path, bytes: &[u8], overwrite: Overwrite) -> Result<(), ReportError> {
    let replace = match overwrite {
        Overwrite::Replace => ctchain_files::Replace::Allow,
        Overwrite::Refuse => ctchain_files::Replace::Refuse,
    };
    ctchain_files::write_atomic(target, bytes, replace, ctchain_files::Access::Default).map_err(|e| match e {
        ctchain_files::FileError::Exists(path) => ReportError::AlreadyExists { path },
        ctchain_files::FileError::Io { path, source } => ReportError::Io { path, source },
    })
}
