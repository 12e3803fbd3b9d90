/**
 * How jobs look in the terminal: a line per job in a listing, a page of them with the command for the
 * next, a queue's counts, and one job in full. Shared by `tasq jobs`, `tasq job`, `tasq dead` and
 * `tasq queue`, so the same job reads the same wherever it is printed.
 */
import type { JobPage, JobView } from '@tasq/core';
import { type CommandIo, formatTime } from './common.js';

/** One line per job: id, state, task, queue, attempts, when it was enqueued, and why it died or failed. */
export function jobLine(job: JobView): string {
  const why = job.deadReason ?? (job.error ? `${job.error.name}: ${job.error.message}` : '');
  return [
    job.id,
    job.state.padEnd(9),
    (job.task ?? '-').padEnd(20),
    (job.queue ?? '-').padEnd(12),
    `attempts ${job.attempts ?? '-'}`,
    formatTime(job.deadAt ?? job.finishedAt ?? job.enqueuedAt),
    why.replace(/\s*\n\s*/g, ' '),
  ]
    .join('  ')
    .trimEnd();
}

export function printPage(
  io: CommandIo,
  page: JobPage,
  json: boolean,
  empty: string,
  more: (cursor: string) => string,
): void {
  if (json) {
    io.out(JSON.stringify({ jobs: page.jobs, ...(page.next ? { next: page.next } : {}) }));
    return;
  }
  if (page.jobs.length === 0) io.out(empty);
  for (const job of page.jobs) io.out(jobLine(job));
  if (page.next) io.out(more(page.next));
}

export function describeStatus(status: {
  ready: number;
  delayed?: number | undefined;
  reserved?: number | undefined;
  dead?: number | undefined;
  paused?: boolean | undefined;
}): string {
  return (
    `ready ${status.ready}  delayed ${status.delayed ?? '-'}  reserved ${status.reserved ?? '-'}  dead ${status.dead ?? '-'}` +
    (status.paused ? '  (paused)' : '')
  );
}

/** Every known field of one job, a row each; for an unknown id, why nothing knows it. */
export function describeJob(view: JobView, canLookUp: boolean): string {
  const rows: [string, string | number | undefined][] = [
    ['id', view.id],
    ['state', view.state],
    ['queue', view.queue],
    ['task', view.task],
    ['attempts', view.attempts],
    ['enqueued', view.enqueuedAt === undefined ? undefined : formatTime(view.enqueuedAt)],
    ['due', view.dueAt === undefined ? undefined : formatTime(view.dueAt)],
    ['expires', view.expiresAt === undefined ? undefined : formatTime(view.expiresAt)],
    ['started', view.startedAt === undefined ? undefined : formatTime(view.startedAt)],
    ['finished', view.finishedAt === undefined ? undefined : formatTime(view.finishedAt)],
    ['stopped', view.stoppedAt === undefined ? undefined : `${formatTime(view.stoppedAt)} (never started)`],
    ['died', view.deadAt === undefined ? undefined : `${formatTime(view.deadAt)}: ${view.deadReason ?? ''}`],
    ['group', view.group],
    [
      'held by',
      view.heldBy === undefined
        ? undefined
        : `cluster ${view.heldBy.cluster} (reported ${formatTime(view.heldBy.reportedAt)})`,
    ],
    ['progress', view.progress === undefined ? undefined : JSON.stringify(view.progress.value)],
    [
      'cancel',
      view.cancelMark === undefined
        ? undefined
        : `marked ${formatTime(view.cancelMark.at)}: ${view.cancelMark.reason}`,
    ],
    ['error', view.error === undefined ? undefined : `${view.error.name}: ${view.error.message}`],
    ['args', view.args === undefined ? undefined : JSON.stringify(view.args)],
    ['result', 'result' in view ? JSON.stringify(view.result) : undefined],
  ];
  const lines = rows
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key.padEnd(9)}${value}`);
  if (view.state === 'unknown') {
    lines.push(
      canLookUp
        ? 'no broker, result backend or cancel mark knows this job id (never enqueued, or its result expired)'
        : 'no result, live cluster or cancel mark knows this job id: this broker cannot look into its queues, so a job still waiting there is unknown too',
    );
  }
  return lines.join('\n');
}
