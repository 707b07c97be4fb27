//! What the assistant e2e files (ides_editors, ides_clis_more) share: a user's config seeded
//! before Lanyard writes, `lanyard disconnect gw` giving it back, and one assistant's row in
//! `lanyard ides --json`.

use std::path::Path;

use lanyard_e2e::{Sandbox, Value, json};

/// Writes `text` to `file` (creating its folder) and returns it.
pub(crate) fn seed(file: &Path, text: &str) -> String {
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
    text.to_owned()
}

/// `lanyard disconnect gw` gives every file back byte for byte.
#[track_caller]
pub(crate) fn assert_disconnect_restores(sandbox: &Sandbox, files: &[(&Path, &str)]) {
    sandbox.lanyard(&["disconnect", "gw"]).assert_ok();
    for (file, before) in files {
        assert_eq!(
            std::fs::read_to_string(file).unwrap(),
            *before,
            "{} not given back byte for byte",
            file.display()
        );
    }
}

/// The row of assistant `id` in the `list` ("assistants" or "connections") of `lanyard ides --json`.
#[track_caller]
pub(crate) fn row<'a>(overview: &'a Value, list: &str, id: &str) -> &'a Value {
    overview[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ide"] == json!(id))
        .unwrap_or_else(|| panic!("no {id} in {list}: {overview}"))
}
