//! The benchmark's peer (bench/tray-memory): the smallest Tauri app with one window open,
//! built from the same crates and assets as the tray, so the two differ only in what is open.
fn main() {
    tauri::Builder::default()
        .setup(|app| {
            tauri::WebviewWindowBuilder::new(
                app,
                "main",
                tauri::WebviewUrl::App("index.html".into()),
            )
            .title("minimal")
            .build()?;
            Ok(())
        })
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| eprintln!("minimal_window: {e}"));
}
