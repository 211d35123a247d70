/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Two workers: most of these tests wait on sockets, processes and timers, not on the CPU.
  maxWorkers: 2,
  roots: ['<rootDir>/test'],
  // The tests under test/uml/ run inside user-mode Linux (test/uml.test.ts boots it).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/uml/'],
  transform: { '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  setupFiles: ['<rootDir>/test/support/connect-guard.ts'],
  testTimeout: 60000,
};
