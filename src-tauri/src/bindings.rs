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
        decl::<crate::import::ImportRow>(&cfg),
        decl::<crate::import::SkippedRow>(&cfg),
        decl::<crate::import::GoneRow>(&cfg),
        decl::<crate::import::ImportListing>(&cfg),
        decl::<crate::import::ImportCheckRow>(&cfg),
        decl::<crate::import::ImportAdded>(&cfg),
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

/// Every file under `dir` (recursively) as text.
fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

/// The UI branches on error codes (`api.ts`); each one it names must be a code Rust sends:
/// a core `UserFacing::code` or one of the tray's `tray.*` codes (`ui.*` are the page's own).
#[test]
fn every_error_code_the_ui_branches_on_is_sent_by_rust() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let api = std::fs::read_to_string(root.join("../ui/src/api.ts")).unwrap();
    let (mut core, mut tray) = (String::new(), String::new());
    sources(&root.join("../crates/lanyard-core/src"), &mut core);
    sources(&root.join("src"), &mut tray);
    let codes: Vec<&str> = api
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.split_once('.').is_some_and(|(m, f)| {
                !m.is_empty()
                    && !f.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c))
            })
        })
        .collect();
    assert!(codes.contains(&"registration.dcr-disabled"), "{codes:?}");
    for code in codes {
        let quoted = format!("\"{code}\"");
        let sent = match code.split_once('.') {
            Some(("ui", _)) => true,
            Some(("tray", _)) => tray.contains(&quoted),
            _ => core.contains(&quoted),
        };
        assert!(
            sent,
            "ui/src/api.ts branches on {code}, which Rust never sends"
        );
    }
}
