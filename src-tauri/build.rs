fn main() {
    // `generate_context!` embeds ../ui/dist at compile time. CI builds the UI first
    // (scripts/setup.d/*tauri*); a bare `cargo build` without it still compiles, with a page
    // that says how to build the UI.
    let dist = std::path::Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        let _ = std::fs::create_dir_all(dist);
        let page = "<!doctype html><title>Lanyard</title><p>UI not built: run <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>.</p>";
        for f in ["index.html", "wizard.html", "dashboard.html", "import.html"] {
            let _ = std::fs::write(dist.join(f), page);
        }
    }
    // Only the commands listed here exist as permissions; capabilities/default.json grants them
    // to the wizard and dashboard windows.
    let manifest = tauri_build::AppManifest::new().commands(&[
        "probe",
        "suggest_name",
        "add_server",
        "tools",
        "assistants",
        "connect",
        "disconnect",
        "servers",
        "activity",
        "sign_in_again",
        "open_wizard",
        "cancel_flow",
        "use_system_browser",
        "remove_everything",
        "uninstall_lanyard",
        "finish_uninstall",
        "import_list",
        "import_registries",
        "import_check",
        "import_add",
    ]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
