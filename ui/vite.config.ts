import { defineConfig } from "vite";

// One page per window; everything is bundled (no remote fonts, icons or scripts).
export default defineConfig({
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    rollupOptions: {
      input: {
        index: "index.html",
        wizard: "wizard.html",
        dashboard: "dashboard.html",
        import: "import.html",
      },
    },
  },
});
