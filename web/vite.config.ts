import { defineConfig } from 'vite';

// Preact through esbuild's automatic JSX runtime (no Babel plugin needed).
// `npm run dev` proxies the API to a running devstack gateway.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline <script>/<style> and no data: modules: the CSP allows only 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
