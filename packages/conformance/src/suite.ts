import type { ConformanceCase } from './case';
import { abortCases } from './checks/abort';
import { backpressureCases } from './checks/backpressure';
import { closeHandshakeCases } from './checks/close-handshake';
import { concurrentCloseCases } from './checks/concurrent-close';
import { halfCloseCases } from './checks/half-close';
import { handlesCases } from './checks/handles';
import { integrityCases } from './checks/integrity';
import { languageCases } from './checks/language';
import { readAfterEofCases } from './checks/read-after-eof';
import { readIntoCases } from './checks/read-into';
import { readSignalCases } from './checks/read-signal';
import { statsCases } from './checks/stats';
import { writeAfterCloseCases } from './checks/write-after-close';
import { writevCases } from './checks/writev';

/** Every case of the suite, in the order they are registered. */
export function allCases(maxBytes: number): ConformanceCase[] {
  return [
    ...integrityCases(maxBytes),
    ...writevCases(maxBytes),
    ...halfCloseCases(maxBytes),
    ...closeHandshakeCases(maxBytes),
    ...writeAfterCloseCases(),
    ...readAfterEofCases(maxBytes),
    ...concurrentCloseCases(),
    ...abortCases(maxBytes),
    ...backpressureCases(maxBytes),
    ...statsCases(maxBytes),
    ...handlesCases(),
    ...readIntoCases(maxBytes),
    ...readSignalCases(),
    ...languageCases(maxBytes),
  ];
}
