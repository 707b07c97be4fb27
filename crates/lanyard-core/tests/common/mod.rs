//! What the assistant corpus tests (ides_corpus, ides_clis_corpus, ides_editors_corpus) share: the
//! corpus files, a private home whose every assistant's files live under it, and the round trip
//! (connect in each mode, check, disconnect, check every byte came back).

use std::fs;
use std::path::{Path, PathBuf};

use lanyard_core::ides::manage::{ConnectRequest, EntryState, Manager};
use lanyard_core::ides::records::RecordsFile;
use lanyard_core::ides::text::{self, Format};
use lanyard_core::ides::{EntryParams, Ide, IdeEnv, IdeError, Mode, ModeParams, Scope};
use lanyard_core::paths::Paths;
use serde_json::{Value, json};

/// tests/corpus/`name`.
pub fn corpus(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus")
        .join(name);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub struct World {
    /// Holds `home` and the state folder; removed on drop.
    _dir: tempfile::TempDir,
    pub home: PathBuf,
    pub manager: Manager,
}

/// A manager (without the CLI judges) on a fresh home, `$XDG_CONFIG_HOME` and `$CODEX_HOME`.
pub fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let mut env = IdeEnv::at_home(home.clone());
    env.set_var("XDG_CONFIG_HOME", home.join("xdg"));
    env.codex_home = Some(home.join(".codex"));
    let mut manager = Manager::new(env, RecordsFile::new(Paths::at(dir.path().join("state"))));
    manager.judge = false;
    World {
        _dir: dir,
        home,
        manager,
    }
}

/// Server `gateway` at `https://gw.example.com/mcp`, with a `lanyard` path that needs quoting.
pub fn params(mode: ModeParams) -> EntryParams {
    EntryParams {
        name: "gateway".into(),
        url: url::Url::parse("https://gw.example.com/mcp").unwrap(),
        lanyard: PathBuf::from("/opt/Lanyard App/bin/lanyard"),
        mode,
    }
}

/// What a [`roundtrip`] found the assistant to take.
pub struct Roundtrip {
    /// Written and removed again.
    pub offered: Vec<ModeParams>,
    /// The assistant cannot use these at all.
    pub refused: Vec<Mode>,
}

/// Connects in each of `modes` (`original` is the file before, `None` for no file): a mode the
/// assistant cannot use, or a secret bound for a project file, is refused before anything is
/// written; otherwise the entry is exactly the assistant's, nothing else in the file changed,
/// connecting again writes nothing, and disconnecting gives back every byte (or removes the file
/// Lanyard created).
pub fn roundtrip(
    w: &World,
    ide: Ide,
    scope: Scope,
    original: Option<&str>,
    modes: &[ModeParams],
) -> Roundtrip {
    let loc = ide.location(&w.manager.env, &scope).unwrap();
    match original {
        Some(o) => {
            fs::create_dir_all(loc.file.parent().unwrap()).unwrap();
            fs::write(&loc.file, o).unwrap();
        }
        None => {
            let _ = fs::remove_file(&loc.file);
        }
    }
    let mut outcome = Roundtrip {
        offered: Vec::new(),
        refused: Vec::new(),
    };
    for mode in modes {
        let req = ConnectRequest {
            ide,
            scope: scope.clone(),
            params: params(mode.clone()),
        };
        let Ok(desired) = ide.entry(&req.params) else {
            // Refused before anything is written (a secret bound for a project file is refused
            // for that first).
            let before = fs::read(&loc.file).ok();
            assert!(
                matches!(
                    w.manager.connect(&req),
                    Err(IdeError::ModeUnsupported { .. } | IdeError::SharedFile { .. })
                ),
                "{ide:?} {mode:?}"
            );
            assert_eq!(fs::read(&loc.file).ok(), before, "nothing written");
            outcome.refused.push(mode.mode());
            continue;
        };
        if matches!(scope, Scope::Project(_)) && req.params.mode.carries_secret() {
            // A project file is meant to be committed: no token or secret goes there.
            let before = fs::read(&loc.file).ok();
            assert!(matches!(
                w.manager.connect(&req),
                Err(IdeError::SharedFile { .. })
            ));
            assert_eq!(fs::read(&loc.file).ok(), before, "nothing written");
            continue;
        }
        outcome.offered.push(mode.clone());
        assert!(w.manager.connect(&req).unwrap().written, "{ide:?} {mode:?}");
        let after = fs::read_to_string(&loc.file).unwrap();
        let entry = text::get(loc.format, &after, &loc.container, "gateway")
            .unwrap()
            .expect("entry written");
        assert_eq!(entry, Value::Object(desired), "{ide:?} {mode:?}");
        assert!(!w.manager.connect(&req).unwrap().written, "connect again");
        let c = w.manager.records.load().unwrap().connections[0].clone();
        assert_eq!(w.manager.inspect(&c, Some(&req.params)), EntryState::Ok);
        if let Some(o) = original {
            assert_only_our_entry_differs(loc.format, o, &after, &loc.container);
        }

        w.manager.disconnect("gateway", Some(&[ide])).unwrap();
        match original {
            Some(o) => assert_eq!(
                fs::read_to_string(&loc.file).unwrap(),
                o,
                "{ide:?} {mode:?}: not byte-identical after disconnect; with the entry it was:\n{after}"
            ),
            None => assert!(!loc.file.exists(), "a file Lanyard created is removed"),
        }
    }
    outcome
}

/// Every value of the document but our entry is what it was, and (JSON) every new line is one of
/// our entry's.
fn assert_only_our_entry_differs(format: Format, before: &str, after: &str, c: &[String]) {
    let servers = |t: &str| {
        let mut v = text::get(format, t, &c[..c.len() - 1], &c[c.len() - 1])
            .unwrap()
            .unwrap_or(json!({}));
        if let Some(m) = v.as_object_mut() {
            m.remove("gateway");
        }
        v
    };
    assert_eq!(servers(before), servers(after), "another server changed");
    if format != Format::Json {
        return;
    }
    let lines_before: Vec<&str> = before.lines().collect();
    for line in after.lines().filter(|l| !l.contains("gateway")) {
        if !lines_before.contains(&line) && !line.trim().is_empty() {
            // Only lines of our entry (its keys, brackets and values) may be new.
            let t = line.trim().trim_end_matches(',');
            assert!(
                t.starts_with('"') || t.starts_with('}') || t.starts_with(']') || t == "{",
                "an unexpected new line {line:?} in:\n{after}"
            );
        }
    }
}
