//! The libtorch version the worker library is compiled against, from the libtorch folder's
//! `build-version` (scripts/install-libtorch.sh writes it), so the loader refuses any other torch.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let root = PathBuf::from(std::env::var_os("LIBTORCH").expect(
        "LIBTORCH names the libtorch folder the worker library is built against (make wheel sets it)",
    ));
    let file = root.join("build-version");
    println!("cargo:rerun-if-changed={}", file.display());
    let version = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("{}: {e} (install libtorch with make libtorch)", file.display())
    });
    println!("cargo:rustc-env=ROBBENCH_LIBTORCH_VERSION={}", version.trim());
}
