import { defineConfig } from 'vitest/config';

// GPU tests share one software adapter on 2 cores: run files one at a time.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
