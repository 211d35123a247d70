import { type AttachInfo, type Filesystem, fsError, type FsNode, type FsResult } from './filesystem';

/**
 * Serves several filesystems on one connection, chosen by the attach name (like diod's
 * several `-e` exports). Unknown anames go to `fallback`, or get ENOENT.
 */
export function routeAnames(table: Readonly<Record<string, Filesystem>>, fallback?: Filesystem): Filesystem {
  return {
    attach(info: AttachInfo): Promise<FsResult<FsNode>> {
      const fs = Object.prototype.hasOwnProperty.call(table, info.aname) ? table[info.aname] : fallback;
      if (!fs) return Promise.resolve({ ok: false, error: fsError('ENOENT', `unknown aname ${JSON.stringify(info.aname)}`) });
      return fs.attach(info);
    },
  };
}
