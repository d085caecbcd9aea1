import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const target = process.env.TRAINYARD_URL ?? 'http://127.0.0.1:7070';
const apiProxy = { '/api': target, '/endpoints': target };

// Workspace packages export `source` (TypeScript): the console bundles the SDK and contracts from source.
export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // ECharts (~210 kB gzip) is one lazy chunk, loaded with the first chart, never on the dashboard.
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      output: {
        // ECharts is most of the weight and only chart pages need it: its own long-cached chunk.
        manualChunks: (id) => {
          if (/node_modules\/(echarts|zrender)\//.test(id)) return 'echarts';
          if (/node_modules\/(react|react-dom|scheduler|react-router|@tanstack)\//.test(id)) return 'react';
          if (/node_modules\/zod\//.test(id)) return 'zod';
          return undefined;
        },
      },
    },
  },
  // `npm run dev -w @trainyard/console` against a running server (TRAINYARD_URL, default :7070).
  server: { proxy: apiProxy },
  preview: { proxy: apiProxy },
});
