//! Link set-up shared by the robbench and robbench-core packages (tch-rs issue 980): tch links
//! libtorch_cpu only, so without help a binary never loads libtorch_cuda and CUDA is silently
//! unavailable. When the libtorch folder has libtorch_cuda, link it with --no-as-needed; always
//! add an rpath so the binary finds libtorch without LD_LIBRARY_PATH.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    let Some(root) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        return; // torch-sys fails the build itself with its own explanation
    };
    let lib = root.join("lib");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-search=native={}", lib.display());
        // The CUDA libraries libtorch_cuda needs are found at run time (torch's own RPATH or
        // LD_LIBRARY_PATH on the GPU machine), not at link time.
        println!("cargo:rustc-link-arg=-Wl,--allow-shlib-undefined");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
