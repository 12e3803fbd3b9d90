/**
 * Words for a failed connection, shared by every broker's error mapping (`src/<id>-errors.ts`), so an
 * error says where the server was expected and why it could not be reached ("Redis at 127.0.0.1:6380:
 * connection refused (ECONNREFUSED)") instead of what the driver happened to be doing ("max retries per
 * request"), and never shows a password.
 */

/** Node's network error codes in words. */
const NETWORK_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens there, or the server is down',
  ECONNRESET: 'connection reset by the server',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed by the server',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed for now (DNS)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENETDOWN: 'network down',
  ECONNCLOSED: 'connection closed',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'a certificate in the chain is self-signed and not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate cannot be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate does not name this host',
};

interface WithCode {
  code?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * The Node network code (`ECONNREFUSED`...) of `error`, looking through `cause` chains and the `errors` of
 * an AggregateError (Node tries every address of a host name and reports them together, with an empty
 * message, when all fail). Undefined when there is none.
 */
export function networkErrorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const candidate = error as WithCode;
  if (typeof candidate.code === 'string' && candidate.code in NETWORK_CAUSES) return candidate.code;
  if (Array.isArray(candidate.errors)) {
    for (const inner of candidate.errors) {
      const code = networkErrorCode(inner, depth + 1);
      if (code) return code;
    }
  }
  return networkErrorCode(candidate.cause, depth + 1);
}

/**
 * Why a connection failed, in words with the code: "connection refused: nothing listens there, or the
 * server is down (ECONNREFUSED)". Undefined when `error` carries no known network code.
 */
export function networkFailureCause(error: unknown): string | undefined {
  const code = networkErrorCode(error);
  return code === undefined ? undefined : `${NETWORK_CAUSES[code]} (${code})`;
}

/**
 * `url` without its password (`redis://user:***@host:6379`), for messages and logs. The user part ends at
 * the last `@` before the query, so a password holding an unencoded `@` or `/` is hidden whole.
 */
export function withoutPassword(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return url;
  const rest = url.slice(scheme[0].length);
  const queryStart = rest.search(/[?#]/);
  const at = (queryStart < 0 ? rest : rest.slice(0, queryStart)).lastIndexOf('@');
  if (at < 0) return url;
  const colon = rest.indexOf(':');
  if (colon < 0 || colon > at) return url;
  return `${scheme[0]}${rest.slice(0, colon)}:***${rest.slice(at)}`;
}
