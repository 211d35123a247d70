/**
 * The tests under test/uml/: they need a real AF_VSOCK peer, so they run inside user-mode
 * Linux with the vsock loopback transport (test/uml.test.ts boots it and reads their report).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/uml'],
  transform: { '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  setupFiles: ['<rootDir>/test/support/connect-guard.ts'],
  testTimeout: 300000,
};
