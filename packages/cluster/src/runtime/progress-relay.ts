/**
 * The progress relay: what running tasks report with `ctx.progress` (already coalesced by their worker,
 * at most one message per ~250 ms) is published as a `task-progress` event and stored through the result
 * backend's progress capability, one write per job at a time: a report that comes while the job's last
 * write is still out replaces any waiting one, so a slow backend never piles writes up.
 */
import type { Logger, ProgressValue } from '@tasq/core';
import type { ResultBackend } from '@tasq/core/backend';
import type { ClusterEmitter } from './events.js';
import type { HeldPackage } from './held-package.js';

export interface ProgressRelayOptions {
  results: ResultBackend;
  events: ClusterEmitter;
  logger: Logger;
  now(): number;
}

export class ProgressRelay {
  /** Jobs with a write out, and the value to write after it (if any came meanwhile). */
  private readonly writing = new Map<string, { next?: ProgressValue }>();
  private readonly save: ((id: string, value: ProgressValue) => Promise<void>) | undefined;
  /** Progress writes sent (what a test of coalescing counts). */
  writes = 0;

  constructor(private readonly options: ProgressRelayOptions) {
    const admin = options.results.administration;
    if (admin?.capabilities.progress && admin.saveProgress) {
      this.save = (id, value) => admin.saveProgress!(id, { value, at: options.now() });
    }
  }

  report(entry: HeldPackage, value: ProgressValue): void {
    this.options.events.emit('task-progress', { ...entry.ref, progress: value });
    if (!this.save) return;
    const id = entry.ref.id;
    const inFlight = this.writing.get(id);
    if (inFlight) {
      inFlight.next = value;
      return;
    }
    this.write(id, value);
  }

  private write(id: string, value: ProgressValue): void {
    const state: { next?: ProgressValue } = {};
    this.writing.set(id, state);
    this.writes++;
    this.save!(id, value)
      .catch((error) =>
        this.options.logger.warn({ jobId: id, err: String(error) }, 'storing the progress of a job failed'),
      )
      .finally(() => {
        this.writing.delete(id);
        if (state.next !== undefined) this.write(id, state.next);
      });
  }
}
