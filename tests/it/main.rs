//! robbench's integration tests, one binary (one link, shared helpers in `common`): each module
//! drives the `robbench` binary (and through it robbench-worker, Python and Slurm) on one area.
//! The full tier is `#[ignore = "full tier ..."]` (make test runs it).

mod common;

mod architectures;
mod cli;
mod companion;
mod concurrency;
mod correlation;
mod durability;
mod evaluate;
mod importers;
mod plot;
mod predict;
mod repl;
mod scores;
mod search;
mod slurm;
mod store;
mod train;
