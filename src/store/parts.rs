//! Part files: how one table's rows lie on disk.
//!
//! A table is a folder of Parquet files named `g<generation>-<unique>.parquet`. Appends add a
//! file at the current generation, so concurrent processes never touch each other's files. A
//! rewrite (UPDATE, DELETE) writes the whole table as one file of the next generation; readers
//! take only the highest generation present, and the older ones are removed once no reader can
//! still be reading them ([`remove_superseded`]). Every file is written under a hidden temporary name,
//! fsynced, renamed into place, and the folder fsynced: a kill at any instant leaves either the
//! old set of files or the new one.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use robbench_vocab::durable;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Part {
    pub generation: u64,
    pub name: String,
}

fn parse_name(name: &str) -> Option<Part> {
    let stem = name.strip_suffix(".parquet")?;
    let gen = stem.strip_prefix('g')?.split('-').next()?.parse().ok()?;
    Some(Part { generation: gen, name: name.to_string() })
}

/// All part files of a table folder, sorted by generation then name.
pub fn list(dir: &Path) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(parts),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(p) = parse_name(&name) {
            parts.push(p);
        }
    }
    parts.sort();
    Ok(parts)
}

/// The parts that make up the table now: those of the highest generation.
pub fn current(dir: &Path) -> Result<(u64, Vec<Part>)> {
    let parts = list(dir)?;
    let gen = parts.iter().map(|p| p.generation).max().unwrap_or(0);
    Ok((gen, parts.into_iter().filter(|p| p.generation == gen).collect()))
}

fn unique_suffix() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos}-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Writes `batches` as one new part of generation `gen`, durably; returns its file name.
pub fn write(dir: &Path, gen: u64, schema: SchemaRef, batches: &[RecordBatch]) -> Result<String> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = format!("g{gen:08}-{}.parquet", unique_suffix());
    durable::write_with(&dir.join(&name), |file| {
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let mut writer = ArrowWriter::try_new(file, schema, Some(props))?;
        for b in batches {
            writer.write(b)?;
        }
        writer.close()?;
        Ok(())
    })?;
    Ok(name)
}

/// Removes the parts of generations below the current one that were superseded (their next
/// generation written) more than `grace` ago: a reader in another process that listed them just
/// before the rewrite can still read them. Removing is idempotent, so processes may race here.
pub fn remove_superseded(dir: &Path, grace: Duration) -> Result<()> {
    let parts = list(dir)?;
    let Some(current) = parts.iter().map(|p| p.generation).max() else { return Ok(()) };
    // When each generation appeared: the earliest modification time of its parts.
    let mut born: BTreeMap<u64, SystemTime> = BTreeMap::new();
    for p in &parts {
        let t = fs::metadata(dir.join(&p.name)).and_then(|m| m.modified());
        if let Ok(t) = t {
            born.entry(p.generation).and_modify(|b| *b = (*b).min(t)).or_insert(t);
        }
    }
    let mut removed = false;
    for p in parts.iter().filter(|p| p.generation < current) {
        let superseded = born.range(p.generation + 1..).next().map(|(_, t)| *t);
        let old = superseded.and_then(|t| t.elapsed().ok()).is_some_and(|age| age > grace);
        if old {
            let path = dir.join(&p.name);
            match fs::remove_file(&path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", path.display()))
                }
            }
        }
    }
    if removed {
        durable::sync_dir(dir)?;
    }
    Ok(())
}

/// Temporary files older than an hour belong to writers that died; younger ones may be in flight.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t.elapsed().map(|e| e.as_secs() > 3600).unwrap_or(false))
            .unwrap_or(false);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

pub fn paths(dir: &Path, parts: &[Part]) -> Vec<PathBuf> {
    parts.iter().map(|p| dir.join(&p.name)).collect()
}
