import { FlowError } from '@flow/core';

/**
 * Size of `sun_path` in `struct sockaddr_un`: 104 bytes on macOS and the BSDs, 108 on Linux (and
 * on Windows' AF_UNIX). libuv needs room for the terminating NUL, so a path may use one byte less.
 */
export function sunPathBytes(platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' || platform === 'win32' || platform === 'android' ? 108 : 104;
}

/** The longest Unix-socket path, in bytes (UTF-8), that this platform can bind or connect to. */
export function maxSocketPathBytes(platform: NodeJS.Platform = process.platform): number {
  return sunPathBytes(platform) - 1;
}

/**
 * An `invalid` error when `path` does not fit in `sun_path`, else undefined. Checked before any
 * system call: the kernel would otherwise truncate the name or fail with an unhelpful errno.
 * `what` says whose path it is, e.g. "the VMM socket" or "the listener socket".
 */
export function checkSocketPath(path: string, what: string, platform: NodeJS.Platform = process.platform): FlowError | undefined {
  const bytes = Buffer.byteLength(path, 'utf8');
  const max = maxSocketPathBytes(platform);
  if (bytes <= max) return undefined;
  return new FlowError(
    'invalid',
    `${what} ${path} is ${bytes} bytes long, but a Unix-socket path holds at most ${max} bytes on ${platform} ` +
      `(sun_path is ${sunPathBytes(platform)} bytes); use a shorter directory, or a relative path`,
    { code: 'ENAMETOOLONG' },
  );
}
