//! Replacing the files of a table that a statement changed (UPDATE, DELETE, an INSERT that
//! reads the table): one commit that removes them and adds their rows as the statement left
//! them. A file replaced meanwhile by another writer (a compaction, another statement) is
//! handled by re-applying the statement's change of rows to the new version, where that is
//! exact; otherwise the statement is a [`Conflict`] and nothing is written.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use arrow::record_batch::RecordBatch;

use super::files::{self, DataFile};
use super::history::CommitInfo;
use super::keys::{self, Key};
use super::log::{Attempt, Operation};
use super::{Conflict, RowDelta, Store, Table, Written};

impl Store {
    /// Replaces the files `remove` of version `base` by `batches` (their rows as a statement
    /// left them): an UPDATE or DELETE. When a file it replaces was replaced meanwhile (a
    /// compaction, another statement), the statement's change of rows, `delta`, is applied to
    /// the new version instead, as long as every row it removed is still there unchanged. A
    /// [`Conflict`] when it is not, or when a key it writes was added meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub fn rewrite(
        &self,
        name: &str,
        base: i64,
        remove: &[String],
        batches: Vec<RecordBatch>,
        delta: Option<RowDelta>,
        operation: Operation,
        info: CommitInfo,
    ) -> Result<Written> {
        let t = self.table(name)?;
        let def = &t.def;
        let batch = files::concat(&def.arrow, &batches)?;
        let mut log = self.write_log(t)?;
        // What this attempt removes and adds; every file written is removed again unless
        // committed.
        let mut add: Vec<DataFile> = Vec::new();
        if batch.num_rows() > 0 {
            add.push(files::write(&t.dir, &def.arrow, std::slice::from_ref(&batch))?);
        }
        let mut written = add.clone();
        let mut old_paths: Vec<String> = remove.to_vec();
        let mut new_keys: HashSet<Key> = keys::of_batch(&batch, &def.key).into_iter().collect();
        let conflict = |why: String, written: &[DataFile]| -> anyhow::Error {
            files::remove(&t.dir, written.iter());
            anyhow::Error::new(Conflict(why))
        };
        let mut checked = base;
        loop {
            let active = log.files();
            let mut old: Option<Vec<DataFile>> =
                old_paths.iter().map(|p| active.iter().find(|f| &f.path == p).cloned()).collect();
            if old.is_none() {
                let changed =
                    format!("rows of {name} that this statement changed were changed meanwhile");
                let Some(d) = delta.as_ref().filter(|_| !def.key.is_empty()) else {
                    return Err(conflict(changed, &written));
                };
                let Some((files_old, files_new)) = self.reapply(t, &active, d)? else {
                    return Err(conflict(changed, &written));
                };
                files::remove(&t.dir, written.iter());
                written = files_new.clone();
                add = files_new;
                old_paths = files_old.iter().map(|f| f.path.clone()).collect();
                new_keys = keys::of_batch(&files::concat(&def.arrow, &d.added)?, &def.key)
                    .into_iter()
                    .collect();
                old = Some(files_old);
            }
            let old = old.expect("set above");
            let mut added = Vec::new();
            for v in checked + 1..=log.version() {
                added.extend(log.changes(v)?.0);
            }
            // Only what the new version holds counts: files added and removed again since
            // (merged by a compaction, say) hold no key of the table any more, and the files
            // this commit replaces hold the old rows of its own keys.
            let now: HashSet<String> = log.files().into_iter().map(|f| f.path).collect();
            added.retain(|f| now.contains(&f.path) && !old_paths.contains(&f.path));
            if !keys::find(def, &t.dir, &added, &new_keys)?.is_empty() {
                return Err(conflict(
                    format!("a key this statement writes to {name} was added meanwhile"),
                    &written,
                ));
            }
            checked = log.version();
            match log.try_commit(operation, &add, &old, true, &info)? {
                Attempt::Committed(v) => {
                    self.after_commit(t, &mut log, v);
                    return Ok(Written { version: Some(v), rows: info.rows_added });
                }
                Attempt::Raced => log.update()?,
            }
        }
    }

    /// The files of `active` that hold the rows `delta` removed, and their replacements:
    /// the same files without those rows, and the rows `delta` added. None when a removed row
    /// is no longer there as the statement read it.
    fn reapply(
        &self,
        t: &Table,
        active: &[DataFile],
        delta: &RowDelta,
    ) -> Result<Option<(Vec<DataFile>, Vec<DataFile>)>> {
        let def = &t.def;
        let removed = files::concat(&def.arrow, &delta.removed)?;
        let removed_keys = keys::of_batch(&removed, &def.key);
        let converter = arrow::row::RowConverter::new(
            def.arrow
                .fields()
                .iter()
                .map(|f| arrow::row::SortField::new(f.data_type().clone()))
                .collect(),
        )?;
        let old_rows = converter.convert_columns(removed.columns())?;
        let want: HashMap<&Key, Vec<u8>> = removed_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k, old_rows.row(i).as_ref().to_vec()))
            .collect();
        let keys: HashSet<Key> = removed_keys.iter().cloned().collect();
        let hits = keys::find(def, &t.dir, active, &keys)?;
        if hits.values().map(Vec::len).sum::<usize>() != keys.len() {
            return Ok(None);
        }
        let mut old = Vec::new();
        let mut new = Vec::new();
        for (path, found) in hits {
            let file = active.iter().find(|f| f.path == path).cloned().expect("a hit is active");
            let rows = files::concat(&def.arrow, &files::read(&t.dir.join(&path), &def.arrow)?)?;
            let converted = converter.convert_columns(rows.columns())?;
            if found.iter().any(|(k, pos)| {
                want.get(k).map(|w| w.as_slice()) != Some(converted.row(*pos).as_ref())
            }) {
                return Ok(None);
            }
            let drop: HashSet<usize> = found.iter().map(|(_, p)| *p).collect();
            if let Some(f) = files::without_rows(&t.dir, &def.arrow, &file, &drop)? {
                new.push(f);
            }
            old.push(file);
        }
        let added = files::concat(&def.arrow, &delta.added)?;
        if added.num_rows() > 0 {
            new.push(files::write(&t.dir, &def.arrow, &[added])?);
        }
        Ok(Some((old, new)))
    }
}
