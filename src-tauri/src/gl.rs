//! Keeps the idle tray from loading the OpenGL stack on X11.
//!
//! GTK 3 on X11 probes GLX while it opens the display (`gtk_init` → `gdk_display_open` → the
//! screen's visuals → `epoxy_glx_version`), to pick GL-capable visuals. That maps Mesa's driver
//! and LLVM into the process: about 30 MB PSS that an idle tray, showing only its icon, never
//! uses. (GTK caches the answer on the X root window, so only the first GTK 3 client of an X
//! session pays it — the tray started at login often is that client.) `GDK_GL=disable` skips
//! the probe.
//!
//! What it changes once a window opens: WebKitGTK asks GDK for a GL context before it turns
//! hardware acceleration on (`AcceleratedBackingStore::checkRequirements`); without one it logs
//! "Disabled hardware acceleration because GTK failed to initialize GL" and renders pages in its
//! non-accelerated mode (CPU rasterisation, shared-memory buffers painted with cairo) — the mode
//! it uses in VMs and the one the tray's tests run in (`WEBKIT_DISABLE_COMPOSITING_MODE=1`). The
//! wizard, dashboard and an IdP's sign-in page are plain forms, so nothing visible is lost.
//! On Wayland GDK starts GL only on demand (the idle tray pays nothing), so the variable is left
//! alone there and WebKit keeps its GPU path.
//!
//! Override: a `GDK_GL` the user set is left alone, whatever its value; `GDK_GL=` (set, empty)
//! gives GTK's default behaviour back, GL probe and WebKit's hardware acceleration included.

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, Ordering};

const VAR: &str = "GDK_GL";

static SET_BY_US: AtomicBool = AtomicBool::new(false);

/// Whether the tray should set `GDK_GL=disable`, from the environment as the user left it:
/// only on Linux, only when GDK will open an X11 display, only when `GDK_GL` is unset.
fn should_disable(
    gdk_gl: Option<&OsStr>,
    gdk_backend: Option<&OsStr>,
    wayland_display: Option<&OsStr>,
) -> bool {
    if !cfg!(target_os = "linux") || gdk_gl.is_some() {
        return false;
    }
    // GDK_BACKEND is a comma-separated preference list; GDK tries it in order.
    let first_backend = gdk_backend
        .and_then(OsStr::to_str)
        .and_then(|b| b.split(',').map(str::trim).find(|b| !b.is_empty()));
    match first_backend {
        Some(b) => b == "x11",
        None => wayland_display.is_none_or(OsStr::is_empty),
    }
}

/// Sets `GDK_GL=disable` for an X11 session unless the user set `GDK_GL`. Call first thing in
/// `main`, before GTK starts and before any other thread exists.
pub fn skip_gl_probe() {
    let var = |k| std::env::var_os(k);
    if should_disable(
        var(VAR).as_deref(),
        var("GDK_BACKEND").as_deref(),
        var("WAYLAND_DISPLAY").as_deref(),
    ) {
        // SAFETY: called at the top of main, while the process has a single thread; nothing
        // reads the environment concurrently.
        unsafe { std::env::set_var(VAR, "disable") };
        SET_BY_US.store(true, Ordering::Relaxed);
    }
}

/// Keeps our setting out of programs we start that are not ours (the system browser): they get
/// the environment the user gave us. WebKit's own helper processes inherit it, which is harmless.
pub fn clean_child_env(c: &mut std::process::Command) {
    if SET_BY_US.load(Ordering::Relaxed) {
        c.env_remove(VAR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<&OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn a_gdk_gl_the_user_set_wins_whatever_its_value() {
        for v in ["", "always", "disable", "gles"] {
            assert!(!should_disable(os(v), None, None), "{v:?}");
        }
    }

    #[test]
    fn only_where_gdk_opens_an_x11_display() {
        let linux = cfg!(target_os = "linux");
        assert_eq!(should_disable(None, None, None), linux);
        assert_eq!(should_disable(None, None, os("")), linux);
        assert!(!should_disable(None, None, os("wayland-0")));
        assert_eq!(should_disable(None, os("x11"), os("wayland-0")), linux);
        assert_eq!(should_disable(None, os("x11,wayland"), None), linux);
        assert!(!should_disable(None, os("wayland,x11"), None));
        assert!(!should_disable(None, os("wayland"), None));
    }
}
