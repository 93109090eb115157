// The console is built to web/dist and served by `honeyman serve` at / (WEB_DIR). Hashed asset
// names under assets/ are what lets the server cache them as immutable.
import { defineConfig } from "vite";

// Node's process (no @types/node here): only HONEYMAN_API is read.
declare const process: { env: Record<string, string | undefined> };

export default defineConfig({
  // React's automatic JSX runtime through esbuild: no plugin (and no dev-only Fast Refresh).
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    // The world map data is fetched as a separate file only by the pages that draw the map.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev` against a server on :8000: the API and the live feed are proxied.
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", ws: true },
    },
  },
  preview: {
    // `vite preview` serves web/dist; the API and the live feed go to HONEYMAN_API (bench/console-bench
    // points it at the server it starts; default the dev server on :8000).
    proxy: {
      "/api": { target: process.env.HONEYMAN_API || "http://127.0.0.1:8000", ws: true },
    },
  },
  test: {
    environment: "node",
    include: ["test/**/*.test.ts"],
  },
});
