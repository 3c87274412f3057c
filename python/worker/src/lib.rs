//! `librobbench_worker.so`: the worker (`robbench_core::worker::cli`) behind one C entry point,
//! for the wheel. `make wheel` removes libtorch from its needed libraries, so the wheel names no
//! library outside the manylinux policy; the loader (python/loader) opens the torch package's
//! libtorch into the global scope first, and this library's references to it resolve there.

use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Runs the worker's command line and returns its exit status.
///
/// # Safety
/// `argv` points to `argc` NUL-terminated strings (what `main` receives).
#[no_mangle]
pub unsafe extern "C" fn robbench_worker_main(argc: c_int, argv: *const *const c_char) -> c_int {
    let args: Vec<OsString> = (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: the caller passes argc valid C strings.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            std::ffi::OsStr::from_bytes(arg.to_bytes()).to_os_string()
        })
        .collect();
    // A panic must not unwind into the C caller.
    match std::panic::catch_unwind(|| robbench_core::worker::cli::main(args)) {
        Ok(code) => c_int::from(code),
        Err(_) => 101,
    }
}
