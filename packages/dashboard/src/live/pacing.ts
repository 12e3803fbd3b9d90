/**
 * How long a periodic read waits before it runs again. Counting a queue is a scan of that queue's index
 * (and on SQLite it runs on the dashboard's own thread), so with a queue of millions a fixed 2 s period
 * would keep the server busy counting; waiting `factor` times what the last read took bounds that share.
 */
export function pauseAfter(tookMs: number, minMs: number, factor: number): number {
  if (!Number.isFinite(tookMs) || tookMs < 0) return minMs;
  return Math.max(minMs, Math.ceil(tookMs * factor));
}
