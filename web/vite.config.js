// Builds the console into internal/server/dist, which the Go binary embeds.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: '../internal/server/dist',
    emptyOutDir: false, // scripts/web.sh clears the old build but keeps the committed README
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1200,
    sourcemap: false,
  },
});
