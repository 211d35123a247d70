import { fromNodeError, type FlowError } from '@flow/core';

/**
 * Windows socket errors as the rest of the package understands errors: Linux errno names and
 * numbers (ECONNRESET, 104), which core maps to error kinds. The Windows name (WSAECONNRESET)
 * and code (10054) stay in the message, so nothing is lost in the translation.
 *
 * Besides the WSA codes, Winsock hands back a few plain Win32 codes for overlapped operations
 * (microsoft/go-winio hvsock.go retries on ERROR_CONNECTION_REFUSED and
 * ERROR_CONNECTION_UNAVAIL); those are mapped too.
 */
export interface WindowsErrorInfo {
  /** The Windows name: `WSAECONNRESET`, `ERROR_CONNECTION_REFUSED`, or `Windows error <n>`. */
  readonly name: string;
  /** The Windows code, positive. */
  readonly windowsCode: number;
  /** The Linux errno name the package uses: `ECONNRESET`. */
  readonly code: string;
  /** The Linux errno number: 104. */
  readonly errno: number;
}

// [Windows code, Windows name, Linux errno name, Linux errno number]
const TABLE: ReadonlyArray<readonly [number, string, string, number]> = [
  [6, 'WSA_INVALID_HANDLE', 'EBADF', 9],
  [8, 'WSA_NOT_ENOUGH_MEMORY', 'ENOMEM', 12],
  [64, 'ERROR_NETNAME_DELETED', 'ECONNRESET', 104],
  [87, 'WSA_INVALID_PARAMETER', 'EINVAL', 22],
  [109, 'ERROR_BROKEN_PIPE', 'EPIPE', 32],
  [121, 'ERROR_SEM_TIMEOUT', 'ETIMEDOUT', 110],
  [995, 'WSA_OPERATION_ABORTED', 'ECANCELED', 125],
  [996, 'WSA_IO_INCOMPLETE', 'EINPROGRESS', 115],
  [997, 'WSA_IO_PENDING', 'EINPROGRESS', 115],
  [1201, 'ERROR_CONNECTION_UNAVAIL', 'ECONNREFUSED', 111],
  [1225, 'ERROR_CONNECTION_REFUSED', 'ECONNREFUSED', 111],
  [1231, 'ERROR_NETWORK_UNREACHABLE', 'ENETUNREACH', 101],
  [1232, 'ERROR_HOST_UNREACHABLE', 'EHOSTUNREACH', 113],
  [1234, 'ERROR_PORT_UNREACHABLE', 'ECONNREFUSED', 111],
  [1236, 'ERROR_CONNECTION_ABORTED', 'ECONNABORTED', 103],
  [10004, 'WSAEINTR', 'EINTR', 4],
  [10009, 'WSAEBADF', 'EBADF', 9],
  [10013, 'WSAEACCES', 'EACCES', 13],
  [10014, 'WSAEFAULT', 'EFAULT', 14],
  [10022, 'WSAEINVAL', 'EINVAL', 22],
  [10024, 'WSAEMFILE', 'EMFILE', 24],
  [10035, 'WSAEWOULDBLOCK', 'EAGAIN', 11],
  [10036, 'WSAEINPROGRESS', 'EINPROGRESS', 115],
  [10037, 'WSAEALREADY', 'EALREADY', 114],
  [10038, 'WSAENOTSOCK', 'ENOTSOCK', 88],
  [10039, 'WSAEDESTADDRREQ', 'EDESTADDRREQ', 89],
  [10040, 'WSAEMSGSIZE', 'EMSGSIZE', 90],
  [10041, 'WSAEPROTOTYPE', 'EPROTOTYPE', 91],
  [10042, 'WSAENOPROTOOPT', 'ENOPROTOOPT', 92],
  [10043, 'WSAEPROTONOSUPPORT', 'EPROTONOSUPPORT', 93],
  [10044, 'WSAESOCKTNOSUPPORT', 'ESOCKTNOSUPPORT', 94],
  [10045, 'WSAEOPNOTSUPP', 'EOPNOTSUPP', 95],
  [10046, 'WSAEPFNOSUPPORT', 'EPFNOSUPPORT', 96],
  [10047, 'WSAEAFNOSUPPORT', 'EAFNOSUPPORT', 97],
  [10048, 'WSAEADDRINUSE', 'EADDRINUSE', 98],
  [10049, 'WSAEADDRNOTAVAIL', 'EADDRNOTAVAIL', 99],
  [10050, 'WSAENETDOWN', 'ENETDOWN', 100],
  [10051, 'WSAENETUNREACH', 'ENETUNREACH', 101],
  [10052, 'WSAENETRESET', 'ENETRESET', 102],
  [10053, 'WSAECONNABORTED', 'ECONNABORTED', 103],
  [10054, 'WSAECONNRESET', 'ECONNRESET', 104],
  [10055, 'WSAENOBUFS', 'ENOBUFS', 105],
  [10056, 'WSAEISCONN', 'EISCONN', 106],
  [10057, 'WSAENOTCONN', 'ENOTCONN', 107],
  [10058, 'WSAESHUTDOWN', 'ESHUTDOWN', 108],
  [10059, 'WSAETOOMANYREFS', 'ETOOMANYREFS', 109],
  [10060, 'WSAETIMEDOUT', 'ETIMEDOUT', 110],
  [10061, 'WSAECONNREFUSED', 'ECONNREFUSED', 111],
  [10062, 'WSAELOOP', 'ELOOP', 40],
  [10063, 'WSAENAMETOOLONG', 'ENAMETOOLONG', 36],
  [10064, 'WSAEHOSTDOWN', 'EHOSTDOWN', 112],
  [10065, 'WSAEHOSTUNREACH', 'EHOSTUNREACH', 113],
  [10066, 'WSAENOTEMPTY', 'ENOTEMPTY', 39],
  // Too many processes use Winsock: a resource limit (never EAGAIN, which means "try later" to the flow).
  [10067, 'WSAEPROCLIM', 'EMFILE', 24],
  [10068, 'WSAEUSERS', 'EUSERS', 87],
  [10069, 'WSAEDQUOT', 'EDQUOT', 122],
  [10070, 'WSAESTALE', 'ESTALE', 116],
  [10071, 'WSAEREMOTE', 'EREMOTE', 66],
  // The network subsystem is not ready (for Hyper-V: the VM is starting or gone).
  [10091, 'WSASYSNOTREADY', 'ENETDOWN', 100],
  [10092, 'WSAVERNOTSUPPORTED', 'EOPNOTSUPP', 95],
  [10093, 'WSANOTINITIALISED', 'EINVAL', 22],
  // A graceful shutdown is in progress.
  [10101, 'WSAEDISCON', 'ESHUTDOWN', 108],
  [10103, 'WSAECANCELLED', 'ECANCELED', 125],
];

/** Every Windows error the package knows by name. */
export const WINDOWS_ERRORS: readonly WindowsErrorInfo[] = Object.freeze(TABLE.map(([windowsCode, name, code, errno]) => Object.freeze({ windowsCode, name, code, errno })));

const BY_CODE: ReadonlyMap<number, WindowsErrorInfo> = new Map(WINDOWS_ERRORS.map((info) => [info.windowsCode, info]));

/** An error Windows reports that the table does not know: EIO, with the code kept. */
const EIO = 5;

/** WSAEFAULT: what the listener reports for an accept that succeeded without a socket. */
export const WSAEFAULT = 10014;

/** What a Windows error code (`10054` or `-10054`) means, in Windows and in Linux terms. */
export function windowsError(code: number): WindowsErrorInfo {
  const n = Math.abs(code);
  return BY_CODE.get(n) ?? { windowsCode: n, name: `Windows error ${n}`, code: 'EIO', errno: EIO };
}

/** The Windows name of an error code: `WSAECONNREFUSED` for 10061. */
export function windowsErrorName(code: number): string {
  return windowsError(code).name;
}

/** The negative Linux errno for a negative (or positive) Windows error code: -10054 → -104. */
export function errnoOfWindowsError(code: number): number {
  return -windowsError(code).errno;
}

/**
 * A failed Winsock call as a FlowError: `code`/`errno` in Linux terms (so `kind` follows core's
 * errno vocabulary: WSAECONNREFUSED is `refused`), and the Windows name and number in the
 * message, e.g. `connect ECONNREFUSED (WSAECONNREFUSED 10061)`.
 */
export function windowsSocketError(code: number, syscall: string, context?: string): FlowError {
  const info = windowsError(code);
  const what = `${syscall} ${info.code} (${describeWindowsError(info)})`;
  return fromNodeError({ code: info.code, errno: info.errno, syscall, message: context ? `${context}: ${what}` : what });
}

/** `WSAECONNRESET 10054`, or `Windows error 1234` for a code the table does not know. */
export function describeWindowsError(info: WindowsErrorInfo): string {
  return info.name.startsWith('Windows error') ? info.name : `${info.name} ${info.windowsCode}`;
}
