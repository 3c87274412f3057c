//! The `robbench-worker` command line: one request as flags, or as JSON on stdin (what robbench
//! sends). Shared by the binary of the source build and the worker library the wheel loads
//! after the torch package's libtorch (python/worker).

use std::ffi::OsString;
use std::io::Read;

use super::Outcome;
use anyhow::Context;
use clap::{Parser, Subcommand};
use robbench_vocab::worker::{Message, Request, EXIT_STOPPED};

#[derive(Parser, Debug)]
#[command(
    name = "robbench-worker",
    version = robbench_vocab::worker::VERSION,
    about = "robbench's libtorch side: train and evaluate a NAS-Bench-201 network, or score networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// One value per process, parsed once: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Request(Request),
    /// Read one request as JSON from standard input (what robbench sends: a Message of this
    /// worker's protocol version)
    Json,
}

/// The whole command: parses `args` (the program name first), runs the request and returns
/// the exit status (0, [`EXIT_STOPPED`], or 1 with the error on stderr).
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    // Ctrl-C and SIGTERM (Slurm's scancel, preemption, time limit) stop at the next step
    // boundary, so the checkpoint on disk is whole.
    let stop = robbench_vocab::Stop::new();
    let asked = stop.clone();
    let _ = ctrlc::set_handler(move || asked.request());
    let request = match Cli::parse_from(args).command {
        Command::Request(r) => Ok(r),
        Command::Json => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the request from stdin")
                .and_then(|_| Message::decode(&text))
        }
    };
    match request.and_then(|r| super::run(r, &stop)) {
        Ok(Outcome::Done) => 0,
        Ok(Outcome::Stopped) => {
            eprintln!("robbench-worker: stopped; the last epoch checkpoint is kept");
            EXIT_STOPPED as u8
        }
        Err(e) => {
            eprintln!("robbench-worker: {e:#}");
            1
        }
    }
}
