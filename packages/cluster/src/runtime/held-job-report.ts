/**
 * What the sentinel tells others about the jobs it holds. Brokers that cannot look into their queues
 * (RabbitMQ, SQS) cannot say a job is running; `tasq job show` then asks the live clusters, and each
 * answers from its ledger. Kept apart so the shape of that answer is written down once, next to nothing else.
 */
import type { HeldLedger } from './held-ledger.js';

/** One held job as reported: waiting for a worker, running (with `startedAt`), or being settled. */
export interface HeldJobReport {
  id: string;
  name: string;
  queue: string;
  startedAt?: number;
}

/** The jobs the ledger holds right now, in the reported shape. */
export function heldJobReports(ledger: Pick<HeldLedger, 'all'>): HeldJobReport[] {
  return [...ledger.all()].map((entry) => ({
    id: entry.ref.id,
    name: entry.ref.name,
    queue: entry.ref.queue,
    ...(entry.startedAt !== undefined ? { startedAt: entry.startedAt } : {}),
  }));
}
