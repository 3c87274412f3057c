//! Keeping a table's files few: merging small files by size tier after commits, merging all of
//! them on demand (`--optimize`), and vacuuming the files no version references any more.

use std::collections::HashSet;

use anyhow::{bail, Result};

use super::files::{self, DataFile};
use super::history::CommitInfo;
use super::log::{Attempt, Log, Operation};
use super::{delta, Store, Table};

/// Size tiers of data files: tier k holds files of TIER_BASE * 4^k bytes up to 4 times that.
/// Once a tier has TIER_FILES files, they are merged into one (which lands a tier or two up).
pub const TIER_BASE: i64 = 64 << 10;
pub const TIER_FILES: usize = 8;
/// Files from this size on are merged only on demand (`--optimize`), so no statement pays for
/// reading them.
pub const LARGE_FILE_BYTES: i64 = 256 << 20;
/// Only a commit whose version is a multiple of this looks for a tier to merge: exactly one
/// writer commits each version, so concurrent writers do not all merge the same files.
pub const COMPACT_EVERY: i64 = 4;

/// The tier of a file of `size` bytes (see [`TIER_BASE`]).
fn tier(size: i64) -> u32 {
    let mut k = 0;
    let mut bound = TIER_BASE * 4;
    while size >= bound && k < 30 {
        k += 1;
        bound = bound.saturating_mul(4);
    }
    k
}

/// The files an automatic compaction merges: the smallest tier that has [`TIER_FILES`] files
/// (files of [`LARGE_FILE_BYTES`] and more never).
pub fn tiers(files: &[DataFile]) -> Option<Vec<DataFile>> {
    let mut by_tier: std::collections::BTreeMap<u32, Vec<DataFile>> = Default::default();
    for f in files.iter().filter(|f| f.size < LARGE_FILE_BYTES) {
        by_tier.entry(tier(f.size)).or_default().push(f.clone());
    }
    by_tier.into_values().find(|v| v.len() >= TIER_FILES)
}

impl Store {
    /// Compacts every table (however few its small files) and vacuums it with `retention`:
    /// per table, the files merged and the files removed.
    pub fn optimize(
        &self,
        retention: std::time::Duration,
    ) -> Result<Vec<(&'static str, usize, usize)>> {
        if self.read_only {
            bail!("the benchmark {} is open read-only: nothing optimized", self.dir.display());
        }
        let mut report = Vec::new();
        for t in &self.tables {
            let merged = if t.def.read_only() { 0 } else { self.compact(t.def.name, true)? };
            let removed = self.vacuum(t.def.name, retention)?;
            report.push((t.def.name, merged, removed));
        }
        Ok(report)
    }

    /// Merges files of the table into one, sorted by its key, in a commit that changes no data
    /// (readers and appends never conflict with it): with `force` all of them, else the
    /// smallest size tier that is full ([`tiers`]). Returns the number of files merged.
    pub fn compact(&self, name: &str, force: bool) -> Result<usize> {
        let t = self.table(name)?;
        if self.read_only {
            return Ok(0);
        }
        let mut log = self.write_log(t)?;
        self.compact_log(t, &mut log, force)
    }

    pub(super) fn compact_log(&self, t: &Table, log: &mut Log, force: bool) -> Result<usize> {
        let def = &t.def;
        let current = log.files();
        let small: Vec<DataFile> = match force {
            true if current.len() > 1 => current,
            true => return Ok(0),
            false => match tiers(&current) {
                Some(tier) => tier,
                None => return Ok(0),
            },
        };
        let mut batches = Vec::new();
        for f in &small {
            batches.extend(files::read(&t.dir.join(&f.path), &def.arrow)?);
        }
        let merged = files::sort(&files::concat(&def.arrow, &batches)?, &def.order)?;
        let new = files::write(&t.dir, &def.arrow, &[merged])?;
        let info = CommitInfo { statement: Some("compact".into()), ..CommitInfo::default() };
        loop {
            let add = std::slice::from_ref(&new);
            match log.try_commit(Operation::Compact, add, &small, false, &info)? {
                Attempt::Committed(v) => {
                    self.checkpoint_quietly(t, log, v);
                    return Ok(small.len());
                }
                Attempt::Raced => {
                    log.update()?;
                    let active: HashSet<String> = log.files().into_iter().map(|f| f.path).collect();
                    if small.iter().any(|f| !active.contains(&f.path)) {
                        // Another process compacted or rewrote some of these files first.
                        files::remove(&t.dir, std::iter::once(&new));
                        return Ok(0);
                    }
                }
            }
        }
    }

    /// Removes the files no version within `retention` references (Delta's vacuum). Returns
    /// the number of files removed.
    pub fn vacuum(&self, name: &str, retention: std::time::Duration) -> Result<usize> {
        let t = self.table(name)?;
        if self.read_only {
            bail!("the benchmark is open read-only: nothing vacuumed");
        }
        delta::vacuum(&t.dir, retention)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: i64) -> DataFile {
        DataFile { path: format!("f{size}"), size, rows: 1, stats: None }
    }

    #[test]
    fn a_tier_is_merged_once_it_is_full_and_large_files_never() {
        assert_eq!(
            (tier(0), tier(TIER_BASE * 4 - 1), tier(TIER_BASE * 4), tier(TIER_BASE * 16)),
            (0, 0, 1, 2)
        );
        let mut files: Vec<DataFile> = (0..TIER_FILES as i64 - 1).map(|k| file(1000 + k)).collect();
        files.extend((0..TIER_FILES as i64).map(|k| file(TIER_BASE * 4 + k)));
        // Tier 0 is one short; tier 1 is full.
        let merged = tiers(&files).unwrap();
        assert_eq!(merged.len(), TIER_FILES);
        assert!(merged.iter().all(|f| tier(f.size) == 1));
        files.push(file(5));
        assert!(tiers(&files).unwrap().iter().all(|f| tier(f.size) == 0));
        let large: Vec<DataFile> = (0..20).map(|k| file(LARGE_FILE_BYTES + k)).collect();
        assert!(tiers(&large).is_none());
    }
}
