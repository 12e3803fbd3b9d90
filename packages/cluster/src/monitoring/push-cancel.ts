/**
 * Telling the running clusters to stop a cancelled job now. The cancel mark an `Administration.cancel`
 * sets is what every cluster checks (about once a second for the jobs it holds); this push only makes it
 * sooner, over the deployment's pub/sub. Shared by `tasq job cancel` and the dashboard.
 */
import { CapabilityError, type ResolvedConfig } from '@tasq/core';
import { requestControl } from './control-client.js';

/** How long the running clusters have to answer. */
const PUSH_ANSWER_MS = 1_000;

/**
 * Ask the running clusters to stop job `jobId`; resolves with the ids of those that are stopping it (none
 * where the deployment has no pub/sub). A failure other than a missing pub/sub goes to `onFailure`, and
 * the mark still does the work.
 */
export async function pushCancel(
  config: ResolvedConfig,
  jobId: string,
  reason: string,
  options: { cwd?: string; onFailure?: (error: Error) => void } = {},
): Promise<string[]> {
  try {
    const { replies } = await requestControl(config, {
      command: 'cancel-job',
      jobId,
      reason,
      timeoutMs: PUSH_ANSWER_MS,
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    return replies
      .filter((reply) => reply.ok && reply.result?.stopping === true)
      .map((reply) => reply.cluster);
  } catch (error) {
    if (!(error instanceof CapabilityError)) options.onFailure?.(error as Error);
    return [];
  }
}
