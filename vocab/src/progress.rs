//! How far a long computation is (train, evaluate, scores, search, the importers) and where that
//! is shown. One [`Update`] type crosses both process boundaries: from robbench-worker to robbench
//! as JSON lines on the worker's standard output, and from robbench to whatever shows it: a bar
//! on a terminal's stderr, a notebook's widget (the Python package's sink), or nothing when no
//! one is watching.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

/// One report of a task: `done` of `total` units, a short note, and whether it has ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    pub task: String,
    pub done: u64,
    pub total: u64,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub finished: bool,
}

/// Where updates go.
pub trait Sink: Send + Sync {
    fn update(&self, update: &Update);
}

impl<S: Sink> Sink for Arc<S> {
    fn update(&self, update: &Update) {
        (**self).update(update);
    }
}

/// A shared sink, as a session and the functions it runs hold it.
#[derive(Clone)]
pub struct Progress(Arc<dyn Sink>);

impl Progress {
    pub fn new(sink: impl Sink + 'static) -> Progress {
        Progress(Arc::new(sink))
    }

    /// Shows nothing.
    pub fn hidden() -> Progress {
        Progress::new(Hidden)
    }

    /// A bar per task on stderr when stderr is a terminal, else nothing.
    pub fn terminal() -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::new(Terminal::default())
        } else {
            Progress::hidden()
        }
    }

    /// JSON lines on stdout, what robbench reads from a worker it started.
    pub fn lines() -> Progress {
        Progress::new(Lines)
    }

    pub fn update(&self, update: &Update) {
        self.0.update(update);
    }

    /// Starts a task of `total` units; it reports as it is advanced and ends when dropped.
    pub fn task(&self, name: impl Into<String>, total: u64) -> Task {
        let task = Task { progress: self.clone(), name: name.into(), total, done: 0 };
        task.send(String::new(), false);
        task
    }
}

impl Default for Progress {
    fn default() -> Progress {
        Progress::terminal()
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// One task's reports. Dropping it reports the end, so a task that fails closes its bar too.
pub struct Task {
    progress: Progress,
    name: String,
    total: u64,
    done: u64,
}

impl Task {
    pub fn set(&mut self, done: u64, note: impl Into<String>) {
        self.done = done.min(self.total);
        self.send(note.into(), false);
    }

    pub fn inc(&mut self, units: u64) {
        self.set(self.done + units, "");
    }

    /// Ends the task as complete (a task dropped without this ended where it was).
    pub fn finish(mut self) {
        self.done = self.total;
    }

    fn send(&self, note: String, finished: bool) {
        self.progress.update(&Update {
            task: self.name.clone(),
            done: self.done,
            total: self.total,
            note,
            finished,
        });
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.send(String::new(), true);
    }
}

struct Hidden;

impl Sink for Hidden {
    fn update(&self, _: &Update) {}
}

/// What a worker writes for robbench: `{"progress": {...}}`, one line each.
struct Lines;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    progress: Update,
}

impl Sink for Lines {
    fn update(&self, update: &Update) {
        let line = serde_json::to_string(&Line { progress: update.clone() })
            .expect("an update serialises");
        let mut out = std::io::stdout().lock();
        // A reader that went away (robbench killed) must not fail the work.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// The update a line of a worker's standard output carries, if it is one.
pub fn decode(line: &str) -> Option<Update> {
    serde_json::from_str::<Line>(line).ok().map(|l| l.progress)
}

/// Tasks that end within this are never drawn (a search over the table, a small import).
const DRAW_AFTER: Duration = Duration::from_millis(400);

/// indicatif bars on stderr, one per running task.
#[derive(Default)]
struct Terminal {
    tasks: Mutex<HashMap<String, (Instant, Option<ProgressBar>)>>,
}

impl Sink for Terminal {
    fn update(&self, u: &Update) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if u.finished {
            if let Some((_, Some(bar))) = tasks.remove(&u.task) {
                bar.finish_and_clear();
            }
            return;
        }
        let (started, bar) = tasks.entry(u.task.clone()).or_insert_with(|| (Instant::now(), None));
        if bar.is_none() && started.elapsed() >= DRAW_AFTER {
            let b = ProgressBar::new(u.total);
            b.set_style(
                ProgressStyle::with_template("{prefix} [{bar:25}] {pos}/{len} {msg} eta {eta}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            b.set_prefix(u.task.clone());
            *bar = Some(b);
        }
        if let Some(b) = bar {
            b.set_length(u.total);
            b.set_position(u.done);
            if !u.note.is_empty() {
                b.set_message(u.note.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Record(Mutex<Vec<Update>>);

    impl Sink for Record {
        fn update(&self, u: &Update) {
            self.0.lock().unwrap().push(u.clone());
        }
    }

    #[test]
    fn a_task_reports_its_start_its_steps_and_its_end_even_when_dropped_early() {
        let record = Arc::new(Record(Mutex::new(Vec::new())));
        let progress = Progress::new(record.clone());
        {
            let mut t = progress.task("train 2581", 10);
            t.set(4, "epoch 1/2");
        }
        let mut t = progress.task("train 2581", 10);
        t.inc(20);
        t.finish();
        let seen: Vec<(u64, bool, String)> =
            record.0.lock().unwrap().iter().map(|u| (u.done, u.finished, u.note.clone())).collect();
        assert_eq!(
            seen,
            vec![
                (0, false, String::new()),
                (4, false, "epoch 1/2".into()),
                (4, true, String::new()),
                (0, false, String::new()),
                (10, false, String::new()),
                (10, true, String::new())
            ]
        );
    }

    #[test]
    fn a_line_round_trips_and_other_output_is_not_an_update() {
        let u = Update {
            task: "scores".into(),
            done: 3,
            total: 9,
            note: "arch 12".into(),
            finished: false,
        };
        let line = serde_json::to_string(&Line { progress: u.clone() }).unwrap();
        assert_eq!(decode(&line), Some(u));
        assert_eq!(decode("warning: aa8: something"), None);
        assert_eq!(decode(r#"{"progress": {"task": "x"}}"#), None);
    }
}
