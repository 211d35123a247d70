// A xenstore client double for LinuxPlatform's one xenstore use (reading its own `domid`): it
// answers READ from a fixed table, as xenstored answers a relative path for dom0 (rooted at
// /local/domain/0), and refuses everything else. It records reads and closes.
import { err, FlowError, ok, type Result } from '@flow/core';
import type { XsClient, XsOps, XsWatch } from '../../src/xenstore/client-types';

export interface XsClientDouble {
  readonly client: XsClient;
  readonly reads: string[];
  readonly closes: { count: number };
}

const refused = (): Promise<Result<never, FlowError>> =>
  Promise.resolve(err(new FlowError('unsupported', 'not part of this double', { code: 'ENOSYS' })));

/** `values` maps a path to its value, or to an error code (`{ error: 'ENOENT' }`). */
export function xsClientDouble(values: Record<string, string | { readonly error: string }>): XsClientDouble {
  const reads: string[] = [];
  const closes = { count: 0 };
  const client: XsClient = {
    read: (path) => {
      reads.push(path);
      const value = values[path] ?? { error: 'ENOENT' };
      if (typeof value === 'string') return Promise.resolve(ok(value));
      const kind = value.error === 'ENOENT' ? 'not-found' : value.error === 'EACCES' ? 'permission' : 'io';
      return Promise.resolve(err(new FlowError(kind, `xenstore ${value.error} reading ${path}`, { code: value.error })));
    },
    write: refused,
    mkdir: refused,
    rm: refused,
    directory: refused,
    getPerms: refused,
    setPerms: refused,
    transaction: <T>(fn: (tx: XsOps) => Promise<Result<T, FlowError>>): Promise<Result<T, FlowError>> => {
      void fn;
      return refused();
    },
    watch: (): Promise<Result<XsWatch, FlowError>> => refused(),
    wait: () => refused(),
    getDomainPath: refused,
    close: () => {
      closes.count++;
      return Promise.resolve();
    },
  };
  return { client, reads, closes };
}
