//! The prebuilt libduckdb.so is found through an rpath, so the binaries run without
//! LD_LIBRARY_PATH (the bundled-duckdb feature links DuckDB statically and needs none).
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    println!("cargo:rerun-if-changed=build.rs");
    // A position-independent robbench makes the loader patch ~260,000 pointers before main
    // (LD_DEBUG=statistics: 10.3 M loader cycles as PIE, 3.1 M not; a cold `SELECT 1` about
    // 6 ms faster).
    println!("cargo:rustc-link-arg-bins=-no-pie");
    if std::env::var_os("CARGO_FEATURE_BUNDLED_DUCKDB").is_some() {
        return;
    }
    if let Some(dir) = std::env::var_os("DUCKDB_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", std::path::Path::new(&dir).display());
    }
}
