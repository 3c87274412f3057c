//! The wheel's `robbench-worker`. The worker library (python/worker) needs a libtorch but names
//! none, so the wheel carries no libtorch of its own and no library outside the manylinux policy:
//! this program finds the torch package (`$ROBBENCH_TORCH`, which the Python package sets to the
//! torch `import torch` would load, else the `torch` folder beside the package), refuses a torch
//! of another release than the one the worker was compiled against, opens its libtorch (CUDA
//! included where the package is a CUDA build) into the global scope, then runs the worker
//! library on it with this process's arguments.

use std::ffi::{c_char, c_int, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_LOCAL, RTLD_NOW};

/// The libtorch the worker library was compiled against.
const LIBTORCH: &str = env!("ROBBENCH_LIBTORCH_VERSION");

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("robbench-worker: {e}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<c_int, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate this program: {e}"))?;
    let here = exe.parent().ok_or("this program has no folder")?;
    let torch = torch_package(here)?;
    let found = torch_version(&torch)?;
    if release(&found) != release(LIBTORCH) {
        return Err(format!(
            "the torch package at {} is torch {found}, and this robbench-worker was built against libtorch {LIBTORCH}: install torch {want}.* (pip install 'torch=={want}.*'), or name a torch {want} folder in ROBBENCH_TORCH",
            torch.display(),
            want = release(LIBTORCH),
        ));
    }
    let lib = torch.join("lib");
    // libtorch.so pulls libtorch_cpu and, in a CUDA build, libtorch_cuda (whose initialisers
    // register the CUDA backend); a CPU-only folder may have libtorch_cpu alone.
    let libtorch = ["libtorch.so", "libtorch_cpu.so"]
        .iter()
        .map(|name| lib.join(name))
        .find(|p| p.exists())
        .ok_or_else(|| format!("{} has no libtorch.so: not a torch package", lib.display()))?;
    let worker_lib = here.join("librobbench_worker.so");
    // SAFETY: libtorch's initialisers are safe to run once per process; opening it global makes
    // its symbols resolve the worker library's references to it.
    let torch_lib = unsafe { Library::open(Some(&libtorch), RTLD_NOW | RTLD_GLOBAL) }
        .map_err(|e| format!("cannot load {}: {e}", libtorch.display()))?;
    // SAFETY: the worker library runs no code when it is opened but Rust's own initialisers.
    let worker = unsafe { Library::open(Some(&worker_lib), RTLD_NOW | RTLD_LOCAL) }
        .map_err(|e| format!("cannot load {}: {e}", worker_lib.display()))?;
    type Main = unsafe extern "C" fn(c_int, *const *const c_char) -> c_int;
    // SAFETY: python/worker defines robbench_worker_main with exactly this signature.
    let main = unsafe { worker.get::<Main>(b"robbench_worker_main\0") }
        .map_err(|e| format!("{}: {e}", worker_lib.display()))?;
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| "an argument holds a NUL byte".to_string()))
        .collect::<Result<_, _>>()?;
    let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    let argc = c_int::try_from(argv.len()).map_err(|_| "too many arguments")?;
    // SAFETY: argv holds argc strings that outlive the call.
    let code = unsafe { main(argc, argv.as_ptr()) };
    // Unloading libtorch at exit races its own threads' teardown: both stay until the process ends.
    std::mem::forget(worker);
    std::mem::forget(torch_lib);
    Ok(code)
}

/// The torch package's folder: `$ROBBENCH_TORCH`, else `torch` beside this package (both in
/// one site-packages).
fn torch_package(here: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("ROBBENCH_TORCH") {
        let dir = PathBuf::from(dir);
        if !dir.join("lib").is_dir() {
            return Err(format!(
                "ROBBENCH_TORCH={}: no lib folder there, so not a torch package",
                dir.display()
            ));
        }
        return Ok(dir);
    }
    let beside = here.parent().map(|p| p.join("torch")).unwrap_or_default();
    if beside.join("lib").is_dir() {
        return Ok(beside);
    }
    Err(format!(
        "no torch package: robbench-worker runs on the libtorch of the torch package, which is not beside it ({}) and not named in ROBBENCH_TORCH: install torch {want}.* (pip install 'torch=={want}.*')",
        beside.display(),
        want = release(LIBTORCH)
    ))
}

/// The version a torch package records in its `version.py` (`__version__ = '2.11.0+cu130'`).
fn torch_version(torch: &Path) -> Result<String, String> {
    let file = torch.join("version.py");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("{}: {e}: not a torch package", file.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("__version__"))
        .and_then(|rest| rest.trim_start().strip_prefix('='))
        .map(|v| v.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{}: no __version__ in it: not a torch package", file.display()))
}

/// A version's release: its first two numbers ("2.11" of "2.11.0+cu130"). libtorch's C++ ABI
/// holds within a release, so any 2.11.x serves a worker built on 2.11.0.
fn release(version: &str) -> String {
    let public = version.split('+').next().unwrap_or(version);
    public.split('.').take(2).collect::<Vec<_>>().join(".")
}
