import { pair } from '@flow/core';
import { describeFlowConformance } from '../src';

// skipCases skips one case of a check; a key that names no case (a typo, a renamed case) must not
// silently run nothing or everything.
test('skipCases naming no case of the suite throws at registration', () => {
  expect(() =>
    describeFlowConformance({
      name: 'never registered',
      makePair: () => {
        const [a, b] = pair();
        return { a, b };
      },
      skipCases: { 'half-close: a case that does not exist': 'reason' },
    }),
  ).toThrow('skipCases names no case of the suite: half-close: a case that does not exist');
});

describeFlowConformance({
  name: 'pair() with one case skipped by title',
  makePair: () => {
    const [a, b] = pair();
    return { a, b };
  },
  maxBytes: 4096,
  // Only the half-close check runs here.
  skip: Object.fromEntries(
    (['integrity', 'writev', 'backpressure', 'stats', 'read-into', 'read-signal', 'abort', 'handles', 'close-handshake', 'concurrent-close', 'read-after-eof', 'write-after-close'] as const).map(
      (check) => [check, 'not under test here'],
    ),
  ),
  skipCases: { 'half-close: both shut their write sides at once: each reads the other’s data then EOF': 'skipped by its title: the other half-close cases run' },
});
