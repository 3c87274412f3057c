//! robbench's first folder format (before Delta Lake tables) and its conversion.
//!
//! In that format a table was a folder of Parquet parts named `g<generation>-<unique>.parquet`;
//! the table was the parts of the highest generation, and writers committed under an `flock`
//! on `robbench.lock`. [`upgrade`] converts such a folder in place: under that lock (so no
//! writer of the old robbench commits meanwhile) each table becomes a Delta table holding
//! exactly the rows of its current parts; the marker then says format 2, and only then are the
//! old parts removed. A kill at any point leaves a folder that is either still in the first
//! format with its parts intact (the upgrade runs again from the start) or converted.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::delta;
use super::files;
use super::history::CommitInfo;
use super::log::{Attempt, Operation, LOG_DIR};
use super::table::{self, TableDef};
use super::{folder_format, FORMAT, MARKER};

pub const LOCK_FILE: &str = "robbench.lock";

/// The old format's commit lock, held while converting.
struct Lock(#[allow(dead_code)] File);

impl Lock {
    fn acquire(dir: &Path) -> Result<Lock> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the commit lock {}", path.display()))?;
        file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(Lock(file))
    }
}

fn generation(name: &str) -> Option<u64> {
    name.strip_suffix(".parquet")?.strip_prefix('g')?.split('-').next()?.parse().ok()
}

/// The parts of a table folder: all of them, and those of the highest generation.
fn parts(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut all: Vec<(u64, PathBuf)> = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(g) = generation(&name) {
            all.push((g, e.path()));
        }
    }
    all.sort();
    let top = all.iter().map(|(g, _)| *g).max();
    let current = all.iter().filter(|(g, _)| Some(*g) == top).map(|(_, p)| p.clone()).collect();
    Ok((all.into_iter().map(|(_, p)| p).collect(), current))
}

/// What an upgrade converted: per table, the rows it holds.
pub struct Upgraded {
    pub tables: Vec<(&'static str, usize)>,
}

/// Converts the first-format folder `dir` in place (see the module comment).
pub fn upgrade(dir: &Path) -> Result<Upgraded> {
    let dir =
        std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    match folder_format(&dir)? {
        Some(1) => {}
        Some(FORMAT) => bail!(
            "{} is already in robbench's current format ({FORMAT}): nothing to upgrade",
            dir.display()
        ),
        Some(f) => bail!("{} is of format {f}, which this robbench cannot upgrade", dir.display()),
        None => bail!("{} is not a robbench benchmark (no {MARKER})", dir.display()),
    }
    let _lock = Lock::acquire(&dir)?;
    if folder_format(&dir)? != Some(1) {
        bail!("{} was upgraded by another process meanwhile", dir.display());
    }
    let defs =
        table::definitions(&duckdb::Connection::open_in_memory().context("cannot start DuckDB")?)?;
    let mut converted = Vec::new();
    let mut old_parts = Vec::new();
    for def in &defs {
        let tdir = dir.join(def.name);
        let rows = convert(&tdir, def)
            .with_context(|| format!("cannot convert table {} ({})", def.name, tdir.display()))?;
        old_parts.extend(parts(&tdir)?.0);
        converted.push((def.name, rows));
    }
    robbench_vocab::durable::write(
        &dir.join(MARKER),
        format!("{{\"format\": {FORMAT}}}\n").as_bytes(),
    )?;
    for p in old_parts {
        let _ = std::fs::remove_file(p);
    }
    Ok(Upgraded { tables: converted })
}

/// Makes `dir`'s current parts one Delta table (replacing what an interrupted upgrade left).
fn convert(dir: &Path, def: &TableDef) -> Result<usize> {
    let log_dir = dir.join(LOG_DIR);
    if log_dir.exists() {
        std::fs::remove_dir_all(&log_dir)
            .with_context(|| format!("cannot remove {}", log_dir.display()))?;
        for e in std::fs::read_dir(dir)?.flatten() {
            if e.file_name().to_string_lossy().starts_with("part-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let (_, current) = parts(dir)?;
    let mut batches = Vec::new();
    for p in &current {
        batches.extend(files::read(p, &def.arrow)?);
    }
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut log = delta::create(dir, def)?;
    if rows > 0 {
        let file = files::write(dir, &def.arrow, &batches)?;
        let info = CommitInfo {
            statement: Some("robbench --upgrade".into()),
            rows_added: rows as i64,
            rows_removed: 0,
        };
        match log.try_commit(Operation::Append, &[file], &[], true, &info)? {
            Attempt::Committed(_) => {}
            Attempt::Raced => bail!("another process wrote {} during the upgrade", dir.display()),
        }
    }
    Ok(rows)
}
