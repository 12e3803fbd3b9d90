/**
 * Where a cluster's HTTP endpoints (the health probe, Prometheus metrics) listen: `127.0.0.1:9000`,
 * `[::1]:9000`, or a port alone (`:9000`, `9000`), which means every interface (0.0.0.0), so a probe from
 * another machine or a container's host reaches it.
 */

export interface ListenAddress {
  host: string;
  port: number;
}

/** Every interface: the default host of an address given as a port alone. */
export const EVERY_INTERFACE = '0.0.0.0';

/** Parse `:9464`, `9464`, `127.0.0.1:9464` or `[::1]:9464`; undefined when it is none of these. */
export function parseListenAddress(value: string | number): ListenAddress | undefined {
  const match = /^(?:(.*):)?(\d{1,5})$/.exec(String(value).trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65_535) return undefined;
  const host =
    match[1] === undefined || match[1] === '' ? EVERY_INTERFACE : match[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}
