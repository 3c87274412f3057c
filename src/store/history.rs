//! The benchmark's commits, over all its tables: what `history()` lists and what `--as-of`
//! reopens.
//!
//! Each table has its own Delta log and version numbers. The benchmark's version N is the state
//! after its first N commits in the order of their commit times (ties: schema order of the
//! table, then table version), so "the benchmark at version N" names one state of every table.
//! Commit times are the writers' clocks: the numbering is stable as long as no writer commits
//! with a clock behind commits already made (the time form of `--as-of` does not depend on it).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::log::LOG_DIR;
use super::table::TableDef;
use super::AsOf;

#[derive(Clone, Debug)]
pub struct Commit {
    /// The benchmark's version after this commit (1 for the first).
    pub version: u64,
    pub table: &'static str,
    pub table_version: i64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub operation: String,
    pub rows_added: Option<i64>,
    pub rows_removed: Option<i64>,
    pub host: Option<String>,
    pub job: Option<String>,
    pub task: Option<String>,
    pub robbench_version: Option<String>,
    pub statement: Option<String>,
}

/// Every commit of every table, numbered.
pub fn commits(dir: &Path, defs: &[TableDef]) -> Result<Vec<Commit>> {
    let mut all = Vec::new();
    for (order, def) in defs.iter().enumerate() {
        let log = dir.join(def.name).join(LOG_DIR);
        if !log.exists() {
            continue; // a table newer than the folder (Store::open says so)
        }
        let entries =
            std::fs::read_dir(&log).with_context(|| format!("cannot list {}", log.display()))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(v) = name.strip_suffix(".json").and_then(|s| s.parse::<i64>().ok()) else {
                continue;
            };
            let text = std::fs::read_to_string(e.path())
                .with_context(|| format!("cannot read {}", e.path().display()))?;
            let info = text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find_map(|a| a.get("commitInfo").cloned())
                .unwrap_or(Value::Null);
            let ours = &info["robbench"];
            let text_of = |v: &Value| v.as_str().map(str::to_string);
            all.push((
                order,
                Commit {
                    version: 0,
                    table: def.name,
                    table_version: v,
                    timestamp: info["timestamp"].as_i64().unwrap_or(0),
                    operation: info["operation"].as_str().unwrap_or("").to_string(),
                    rows_added: ours["rows_added"].as_i64(),
                    rows_removed: ours["rows_removed"].as_i64(),
                    host: text_of(&ours["host"]),
                    job: text_of(&ours["job"]),
                    task: text_of(&ours["task"]),
                    robbench_version: text_of(&ours["version"]),
                    statement: text_of(&ours["statement"]),
                },
            ));
        }
    }
    all.sort_by_key(|(order, c)| (c.timestamp, *order, c.table_version));
    Ok(all
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut c))| {
            c.version = i as u64 + 1;
            c
        })
        .collect())
}

/// Each table's version in the benchmark as of `as_of`, and the benchmark version that is.
pub fn versions_as_of(
    dir: &Path,
    defs: &[TableDef],
    as_of: &AsOf,
) -> Result<(HashMap<&'static str, i64>, u64)> {
    let commits = commits(dir, defs)?;
    let last = commits.last().map(|c| c.version).unwrap_or(0);
    let included: Vec<&Commit> = match as_of {
        AsOf::Version(n) => {
            if *n == 0 || *n > last {
                bail!(
                    "the benchmark {} has versions 1 to {last}; there is no version {n}",
                    dir.display()
                );
            }
            commits.iter().filter(|c| c.version <= *n).collect()
        }
        AsOf::Time(t) => {
            let v: Vec<&Commit> = commits.iter().filter(|c| c.timestamp <= *t).collect();
            if v.is_empty() {
                bail!("the benchmark {} has no commit at or before that time", dir.display());
            }
            v
        }
    };
    let mut versions: HashMap<&'static str, i64> = defs.iter().map(|d| (d.name, 0)).collect();
    let version = included.iter().map(|c| c.version).max().unwrap_or(0);
    for c in included {
        let v = versions.entry(c.table).or_insert(0);
        *v = (*v).max(c.table_version);
    }
    Ok((versions, version))
}

/// Who committed and why, kept in each commit's commitInfo under "robbench".
#[derive(Clone, Debug, Default)]
pub struct CommitInfo {
    pub statement: Option<String>,
    /// Rows the commit adds and removes as the table's content changes (a rewritten file's
    /// unchanged rows count in neither).
    pub rows_added: i64,
    pub rows_removed: i64,
}

impl CommitInfo {
    pub fn statement(sql: &str) -> CommitInfo {
        CommitInfo { statement: Some(sql.trim().to_string()), ..CommitInfo::default() }
    }

    pub fn to_json(&self) -> Value {
        let env = |k: &str| std::env::var(k).ok();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "host": hostname(),
            "pid": std::process::id(),
            "job": env("SLURM_ARRAY_JOB_ID").or_else(|| env("SLURM_JOB_ID")),
            "task": env("SLURM_ARRAY_TASK_ID"),
            "statement": self.statement,
            "rows_added": self.rows_added,
            "rows_removed": self.rows_removed,
        })
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}
