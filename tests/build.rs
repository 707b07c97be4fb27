//! Finds every `e2e/*.rs` file and makes it a module of the one `e2e` test binary, so adding a
//! test file needs no Cargo.toml edit. Test names are `<file stem>::<test fn>`, e.g.
//! `cargo nextest run -p lanyard-e2e core_dcr::` runs one file.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("e2e");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.extension().is_some_and(|e| e == "rs") && p.file_stem().is_some_and(|s| s != "main")
    });
    files.sort();
    let mut out = String::new();
    for f in files {
        let stem = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .replace(['-', '.'], "_");
        let _ = writeln!(out, "#[path = {:?}]\nmod {stem};", f.display().to_string());
    }
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("e2e_modules.rs");
    if std::fs::read_to_string(&dest).ok().as_deref() != Some(out.as_str()) {
        let _ = std::fs::write(dest, out);
    }
}
