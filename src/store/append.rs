//! Appending rows to a table: INSERT, a finished run's records, a score, an import. One commit
//! that adds one file (and, for INSERT OR REPLACE, rewrites the files holding replaced rows),
//! with the table's key rule checked against the files that might hold the keys and then
//! against each version another writer committed meanwhile: a lost race re-reads only those.

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, bail, Result};
use arrow::record_batch::RecordBatch;

use super::files::{self, DataFile};
use super::history::CommitInfo;
use super::keys::{self, Key};
use super::log::{Attempt, Operation};
use super::{rows, OnKey, Store, Written};

impl Store {
    /// Appends rows given by column name (see [`rows::Row`]).
    pub fn append_rows(&self, name: &str, rows: &[rows::Row], on_key: OnKey) -> Result<Written> {
        let batch = rows::to_batch(&self.schema(name)?, rows)?;
        self.append(name, vec![batch], on_key, CommitInfo::default())
    }

    /// Appends `batches` to the table as one commit, with its key rule: the keys are checked
    /// against the files that might hold them, then against each version committed meanwhile.
    pub fn append(
        &self,
        name: &str,
        batches: Vec<RecordBatch>,
        on_key: OnKey,
        mut info: CommitInfo,
    ) -> Result<Written> {
        let t = self.table(name)?;
        let def = &t.def;
        let batch = files::concat(&def.arrow, &batches)?;
        if batch.num_rows() == 0 {
            return Ok(Written::default());
        }
        // Rows of the batch that share a key: the last one stands for it (DuckDB's staging
        // table has refused them already; rows from train or an import are checked here).
        let row_keys = keys::of_batch(&batch, &def.key);
        let mut keep = vec![true; batch.num_rows()];
        if !def.key.is_empty() {
            let mut seen: HashMap<&Key, usize> = HashMap::new();
            for (i, k) in row_keys.iter().enumerate() {
                if let Some(j) = seen.insert(k, i) {
                    match on_key {
                        OnKey::Refuse => bail!(keys::duplicate_message(def, k)),
                        OnKey::Ignore => keep[i] = false,
                        OnKey::Replace => keep[j] = false,
                    }
                }
            }
        }
        let mut log = self.write_log(t)?;
        let mut to_check = log.files();
        // Replace: positions of rows to drop, per existing file.
        let mut replaced: HashMap<String, HashSet<usize>> = HashMap::new();
        let mut written: Option<DataFile> = None;
        // (a file holding replaced rows, its copy without them: None when none are left)
        let mut rewritten: Vec<(DataFile, Option<DataFile>)> = Vec::new();
        let outcome = loop {
            let wanted: HashSet<Key> = row_keys
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(key, _)| key.clone())
                .collect();
            let hits = keys::find(def, &t.dir, &to_check, &wanted)?;
            if !hits.is_empty() {
                match on_key {
                    OnKey::Refuse => {
                        let key =
                            hits.values().next().and_then(|h| h.first()).map(|(k, _)| k.clone());
                        files::remove(
                            &t.dir,
                            written.iter().chain(rewritten.iter().filter_map(|(_, n)| n.as_ref())),
                        );
                        bail!(keys::duplicate_message(def, &key.unwrap_or_default()));
                    }
                    OnKey::Ignore => {
                        let held: HashSet<&Key> = hits.values().flatten().map(|(k, _)| k).collect();
                        for (i, k) in row_keys.iter().enumerate() {
                            if held.contains(k) {
                                keep[i] = false;
                            }
                        }
                        files::remove(&t.dir, written.take().iter());
                    }
                    OnKey::Replace => {
                        for (path, found) in hits {
                            replaced
                                .entry(path)
                                .or_default()
                                .extend(found.into_iter().map(|(_, p)| p));
                        }
                        files::remove(&t.dir, rewritten.iter().filter_map(|(_, n)| n.as_ref()));
                        rewritten.clear();
                    }
                }
            }
            let kept = files::filter_rows(&batch, &keep)?;
            if kept.num_rows() == 0 && replaced.is_empty() {
                break None;
            }
            if written.is_none() && kept.num_rows() > 0 {
                written = Some(files::write(&t.dir, &def.arrow, std::slice::from_ref(&kept))?);
            }
            if rewritten.is_empty() && !replaced.is_empty() {
                let active = log.files();
                for (path, drop) in &replaced {
                    let old =
                        active.iter().find(|f| &f.path == path).cloned().ok_or_else(|| {
                            anyhow!("internal: {path} of {name} is not in the table")
                        })?;
                    let new = files::without_rows(&t.dir, &def.arrow, &old, drop)?;
                    rewritten.push((old, new));
                }
            }
            let add: Vec<DataFile> = written
                .iter()
                .cloned()
                .chain(rewritten.iter().filter_map(|(_, n)| n.clone()))
                .collect();
            let remove: Vec<DataFile> = rewritten.iter().map(|(o, _)| o.clone()).collect();
            info.rows_added = kept.num_rows() as i64;
            info.rows_removed = replaced.values().map(|d| d.len() as i64).sum();
            let op = if remove.is_empty() { Operation::Append } else { Operation::Replace };
            let before = log.version();
            match log.try_commit(op, &add, &remove, true, &info)? {
                Attempt::Committed(v) => break Some((v, info.rows_added)),
                Attempt::Raced => {
                    log.update()?;
                    let mut added = Vec::new();
                    let mut gone = HashSet::new();
                    for v in before + 1..=log.version() {
                        let (a, r) = log.changes(v)?;
                        added.extend(a);
                        gone.extend(r);
                    }
                    if replaced.keys().any(|p| gone.contains(p)) {
                        // A file this replace rewrites was rewritten meanwhile: start over on
                        // the new version.
                        files::remove(&t.dir, rewritten.iter().filter_map(|(_, n)| n.as_ref()));
                        rewritten.clear();
                        replaced.clear();
                        to_check = log.files();
                    } else {
                        to_check = added;
                    }
                }
            }
        };
        let Some((version, rows)) = outcome else {
            return Ok(Written { version: None, rows: 0 });
        };
        self.after_commit(t, &mut log, version);
        Ok(Written { version: Some(version), rows })
    }
}
