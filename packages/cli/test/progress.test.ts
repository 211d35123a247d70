import { Progress, progressLine } from '../src/progress';

test('progressLine shows a bar, the percentage, bytes done of total and the rate', () => {
  expect(progressLine(5 * 1024 * 1024, 10 * 1024 * 1024, 2000, 10)).toBe('[#####-----]  50.0%  5.00 MiB / 10.00 MiB  2.50 MiB/s');
});

test('progressLine without a known total shows bytes and rate only', () => {
  expect(progressLine(2048, undefined, 1000)).toBe('2.00 KiB  2.00 KiB/s');
});

test('Progress draws nothing when its target is not a terminal', () => {
  const written: string[] = [];
  const p = new Progress(100, { isTTY: false, write: (t: string) => written.push(t) });
  p.advance(50);
  p.finish();
  expect(written).toEqual([]);
});

test('Progress on a terminal redraws in place and ends with the full bar and a newline', () => {
  const written: string[] = [];
  const p = new Progress(100, { isTTY: true, write: (t: string) => written.push(t) });
  p.advance(100);
  p.finish();
  const last = written[written.length - 1] ?? '';
  expect(last.startsWith('\r[########################] 100.0%  100 B / 100 B')).toBe(true);
  expect(last.endsWith('\n')).toBe(true);
});
