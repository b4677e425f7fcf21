import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The built dashboard lands in `dist/`, which the control plane serves at `/` (SPA fallback). */
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    host: '127.0.0.1',
    // `npm run dev` against a control plane started locally on its default port.
    proxy: { '/trpc': 'http://127.0.0.1:8080' },
  },
});
