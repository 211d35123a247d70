/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Two workers: most of these tests wait on sockets, processes and timers, not on the CPU.
  maxWorkers: 2,
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  testTimeout: 60000,
};
