//! `ui/src/types.gen.ts`: the UI's types, generated from `model.rs` with ts-rs. The test fails
//! while the checked-in file differs from what the Rust types give; regenerate with
//! `LANYARD_UPDATE_BINDINGS=1 cargo test -p lanyard-tray bindings`.

use std::path::Path;

use ts_rs::{Config, TS};

use crate::model::{
    Activity, AddRequest, AddResult, Assistant, Dcr, ProbeMode, ProbeSummary, ServerRow, Status,
    StepState, TimelineStep, ToolInfo, UiError, UninstallResult,
};

fn decl<T: TS>(cfg: &Config) -> String {
    format!("{}export {}\n", T::docs().unwrap_or_default(), T::decl(cfg))
}

/// The whole file, one declaration per type, in a fixed order.
fn render() -> String {
    // Every integer that crosses (status codes, milliseconds) fits a JS number.
    let cfg = Config::new().with_large_int("number");
    let decls = [
        decl::<Status>(&cfg),
        decl::<ServerRow>(&cfg),
        decl::<Activity>(&cfg),
        decl::<UiError>(&cfg),
        decl::<StepState>(&cfg),
        decl::<TimelineStep>(&cfg),
        decl::<Dcr>(&cfg),
        decl::<ProbeMode>(&cfg),
        decl::<ProbeSummary>(&cfg),
        decl::<AddRequest>(&cfg),
        decl::<ToolInfo>(&cfg),
        decl::<AddResult>(&cfg),
        decl::<Assistant>(&cfg),
        decl::<UninstallResult>(&cfg),
    ];
    let body = decls.join("\n");
    let mut out = String::from(
        "// Generated from src-tauri/src/model.rs by src-tauri/src/bindings.rs: do not edit.\n\
         // Regenerate: LANYARD_UPDATE_BINDINGS=1 cargo test -p lanyard-tray bindings\n\n",
    );
    for line in body.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn the_checked_in_ui_types_match_the_rust_types() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/types.gen.ts");
    let want = render();
    if std::env::var_os("LANYARD_UPDATE_BINDINGS").is_some_and(|v| v == "1") {
        std::fs::write(&file, &want).unwrap();
    }
    let have = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: run `LANYARD_UPDATE_BINDINGS=1 cargo test -p lanyard-tray bindings` and \
         commit it",
        file.display()
    );
}
