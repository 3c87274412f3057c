//! robbench-worker: the libtorch side of robbench's SQL functions (`robbench_core::worker`). It
//! carries alone to a GPU machine. robbench sends it one request as JSON on stdin (`json`); the
//! other subcommands take the same request as flags, for running it by hand.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(robbench_core::worker::cli::main(std::env::args_os()))
}
