import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// The build goes into the Python package, where `autolabel serve` serves it (and the CDK stack
// uploads it to S3). Relative asset URLs let the same build run from any path.
export default defineConfig({
  plugins: [preact()],
  base: "./",
  build: {
    outDir: "../src/autolabel/web/static",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
  },
});
