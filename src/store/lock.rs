//! The benchmark folder's commit lock: writers from any number of processes, on one machine or
//! on several sharing the folder, take it to commit, one at a time. Readers never take it.
//!
//! It is an advisory `flock` on `<bench>/robbench.lock`, held only while a commit reads the
//! parts on disk, writes its own and removes what it superseded (milliseconds to seconds),
//! never while a statement computes. The operating system releases it when the holder dies,
//! however it dies, so a killed writer never leaves the folder locked.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub const LOCK_FILE: &str = "robbench.lock";

/// A held commit lock; dropping it releases it.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

impl Lock {
    /// Waits for and takes the lock of the benchmark folder `dir` (which must exist).
    pub fn acquire(dir: &Path) -> Result<Lock> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the commit lock {}", path.display()))?;
        file.lock().with_context(|| {
            format!(
                "cannot lock {} (the file system must support flock; see the README)",
                path.display()
            )
        })?;
        Ok(Lock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
