/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  // Native tests load one LibTorch per worker; running in band keeps memory and threads sane.
  maxWorkers: 1,
  testTimeout: 120000,
  // One temporary folder per test file, removed after it (test/helpers/temp-per-file.ts).
  setupFilesAfterEnv: ['<rootDir>/test/helpers/temp-per-file.ts'],
};
