/**
 * Every action taken in the dashboard, and every sign-in, becomes a `dashboard-action` monitoring event
 * (who, what, when, how it ended) on the deployment's event stream, where `tasq events` shows it.
 */
import { hostname } from 'node:os';
import { publishEvents } from '@tasq/cluster';
import type { DashboardActionEvent } from '@tasq/core';
import type { Deployment } from './deployment.js';

export type ActionRecord = Omit<DashboardActionEvent, 'type' | 'at' | 'cluster'>;

export class AuditTrail {
  readonly source = `dashboard@${hostname()}:${process.pid}`;

  constructor(
    private readonly deployment: Deployment,
    private readonly onAction?: (event: DashboardActionEvent) => void,
  ) {}

  async record(record: ActionRecord): Promise<void> {
    const event: DashboardActionEvent = {
      type: 'dashboard-action',
      at: Date.now(),
      cluster: this.source,
      ...record,
    };
    this.onAction?.(event);
    const pubsub = this.deployment.pubsub;
    if (!pubsub) return;
    try {
      await publishEvents(this.deployment.config, pubsub, [event]);
    } catch (error) {
      // The action itself happened; losing its event is reported, never turned into a failed action.
      process.emitWarning(`tasq dashboard: recording "${record.action}" failed: ${(error as Error).message}`);
    }
  }
}
