import { formatError, type FlowError } from '@flow/core';

/**
 * The line a command prints when it cannot listen on `uri`, saying each thing once. Transports
 * whose errors already begin "cannot listen on …" (TCP and Unix sockets name the address
 * themselves) are printed as they are; others get the URI put in front.
 */
export function describeListenFailure(uri: string, error: FlowError): string {
  // formatError adds the kind ("in-use: …") and the errno when the message lacks it.
  const formatted = formatError(error);
  const withoutKind = formatted.startsWith(`${error.kind}: `) ? formatted.slice(error.kind.length + 2) : formatted;
  return /^cannot listen on /.test(withoutKind) ? withoutKind : `cannot listen on ${uri}: ${withoutKind}`;
}
