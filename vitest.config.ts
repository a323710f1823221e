import { defineConfig } from 'vitest/config';

/**
 * Tests import `../src/X.js`; these aliases point them at the built `dist/X.js`, and dist/ is
 * external: Node loads it natively. Through vite's module runner every call of an imported
 * function becomes a property read on a live-binding object, which made a simulated burn 3x
 * slower (1.6 s instead of 0.5 s for the catalog image, measured); the power-cut and fault
 * sweeps are bounded by exactly that. It also means the suite tests what is shipped.
 * test/helpers/build-dist.ts rebuilds first when src/ is newer than dist/.
 */
export default defineConfig({
  resolve: {
    alias: [{ find: /^((?:\.\.\/)+)src\/(.*)\.js$/, replacement: '$1dist/$2.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/build-dist.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // vitest's default on 2 cores is 1 worker; the long sweeps are CPU-bound and independent
    maxWorkers: 2,
    server: { deps: { external: [/\/dist\//] } },
  },
});
