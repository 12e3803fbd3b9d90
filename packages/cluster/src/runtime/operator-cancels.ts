/**
 * The cancel handling of one cluster, wired once. An operator's cancel reaches a held job two ways: a
 * mark the cancel watch reads (every deployment with marks), or a cancel pushed over pub/sub (sooner,
 * where there is one). Both must stop the job the same way (cancel-held.ts); joining them here gives the
 * sentinel a single part to start, stop and ask.
 */
import type { Clock, Logger } from '@tasq/core';
import type { BrokerAdministration } from '@tasq/core/backend';
import { HeldCancels } from './cancel-held.js';
import { CancelWatch } from './cancel-watch.js';
import type { Dispatcher } from './dispatcher.js';
import type { HeldLedger } from './held-ledger.js';
import type { Monitor } from './monitor.js';

export interface OperatorCancelsOptions {
  /** Where the cancel marks are read; none read when it keeps no marks. */
  admin: BrokerAdministration | undefined;
  ledger: HeldLedger;
  dispatcher: Pick<Dispatcher, 'cancelRun'>;
  monitor: Pick<Monitor, 'complete'>;
  clock: Clock;
  logger: Logger;
  saveArgs: boolean;
  /** How often the marks of held jobs are read. Default: the cancel watch's. */
  checkMs?: number | undefined;
}

export class OperatorCancels {
  private readonly cancels: HeldCancels;
  private readonly watch: CancelWatch | undefined;

  constructor(options: OperatorCancelsOptions) {
    const { admin, ledger, dispatcher, monitor, clock, logger, saveArgs, checkMs } = options;
    this.cancels = new HeldCancels({ ledger, dispatcher, monitor, clock, saveArgs });
    this.watch = CancelWatch.over(admin, {
      held: () => ledger.all(),
      onMark: (entry, mark) => this.cancels.stop(entry, mark.reason),
      clock,
      logger,
      ...(checkMs ? { checkMs } : {}),
    });
  }

  /** Start reading the marks (where the broker keeps them). */
  start(): void {
    this.watch?.start();
  }

  stop(): void {
    this.watch?.stop();
  }

  /** Stop a held job whose cancel was pushed; false when not held here. */
  cancelJob(jobId: string, reason: string): boolean {
    return this.cancels.cancelJob(jobId, reason);
  }
}
