//! Writing files that another process reads (the worker's answers, caches, Parquet parts) so
//! that a reader sees the old file or the whole new one, and a crash after the call returned
//! loses nothing: write a temporary sibling, fsync it, rename it over the target, fsync the
//! folder (the rename itself lives in the folder's metadata).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A temporary name beside `path`, unique to this process and call, starting with a dot so
/// listings that look for finished files skip it.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let k = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{k}.tmp", std::process::id()))
}

/// Makes a folder's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    std::fs::File::open(d)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync folder {}", d.display()))
}

/// Finishes an atomic write of `path` whose contents a library wrote to `tmp` (a
/// [`temporary_sibling`]): syncs it, renames it over `path`, syncs the folder. On failure `tmp`
/// is removed.
pub fn commit(tmp: &Path, path: &Path) -> Result<()> {
    let result = std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", tmp.display()))
        .and_then(|()| {
            std::fs::rename(tmp, path).with_context(|| format!("cannot write {}", path.display()))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Writes `path` atomically with what `fill` writes.
pub fn write_with(path: &Path, fill: impl FnOnce(&mut std::fs::File) -> Result<()>) -> Result<()> {
    let tmp = temporary_sibling(path);
    let written = std::fs::File::create(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))
        .and_then(|mut f| fill(&mut f).with_context(|| format!("cannot write {}", tmp.display())));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    commit(&tmp, path)
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |f| Ok(f.write_all(bytes)?))
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write(path, &serde_json::to_vec_pretty(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("robbench-durable-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.json");
        write_json(&p, &serde_json::json!({"x": 1})).unwrap();
        write(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        let names: Vec<_> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from("a.json")]);
        let e = write(&dir.join("missing/b"), b"x").unwrap_err();
        assert!(format!("{e:#}").contains("missing"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
