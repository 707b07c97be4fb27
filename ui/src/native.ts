// What every Lanyard window does like a native one: Escape closes it (after `before` had a
// chance to close something smaller first, e.g. an open confirmation: it returns true then).
import { getCurrentWindow } from "@tauri-apps/api/window";

export function closeOnEscape(before?: () => boolean) {
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented || e.isComposing) return;
    e.preventDefault();
    if (before?.()) return;
    void getCurrentWindow().close();
  });
}
