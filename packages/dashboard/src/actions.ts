/**
 * The operator's actions, each through tasq's own API: purge a queue (broker), schedules (schedule
 * store), and cluster control (signed remote control). Input is checked before anything changes; a bad
 * field is an HttpError naming it. Each returns a sentence saying what happened.
 */
import { type ControlCommand, requestControl } from '@tasq/cluster';
import { defineSchedule, type ScheduleKind, type ScheduleOptions, SCHEDULE_KINDS } from '@tasq/core';
import { withPaused, runtimeServicesOf } from '@tasq/core/internal';
import type { Deployment } from './deployment.js';
import type { Fields } from './http/body.js';
import { HttpError } from './http/errors.js';

export async function purgeQueue(deployment: Deployment, queue: string, fields: Fields): Promise<string> {
  await requireQueue(deployment, queue);
  if (fields.confirm !== queue)
    throw new HttpError(400, `to purge, type the queue name "${queue}" in the confirmation field`);
  const removed = await runtimeServicesOf(deployment.tasq).broker.purge(queue);
  return `purged queue ${queue}: ${removed} job(s) removed`;
}

/** A 404 unless `queue` is configured in this deployment or consumed by a running cluster. */
export async function requireQueue(deployment: Deployment, queue: string): Promise<void> {
  if (!deployment.queueNames().includes(queue) && !(await isConsumed(deployment, queue)))
    throw new HttpError(404, `no queue named "${queue}" in this deployment`);
}

async function isConsumed(deployment: Deployment, queue: string): Promise<boolean> {
  const { clusters } = await deployment.clusters(500);
  return clusters.some((cluster) => cluster.queues.includes(queue));
}

const SCHEDULE_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const TASK_NAME = /^[^\s]{1,200}$/;

/** Create a schedule from the add form: name, task, args (JSON), cron or kind (+ minutes), queue, zone. */
export async function addSchedule(deployment: Deployment, fields: Fields): Promise<string> {
  const name = (fields.name ?? '').trim();
  const task = (fields.task ?? '').trim();
  if (!SCHEDULE_NAME.test(name))
    throw new HttpError(400, 'schedule name must be 1-128 letters, digits, "_", "-", "." or ":"');
  if (!TASK_NAME.test(task)) throw new HttpError(400, 'task must be a task name without spaces');
  let args: unknown[] = [];
  const argsText = (fields.args ?? '').trim();
  if (argsText !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(argsText);
    } catch (error) {
      throw new HttpError(400, `arguments are not valid JSON: ${(error as Error).message}`);
    }
    args = Array.isArray(parsed) ? parsed : [parsed];
  }
  const cron = (fields.cron ?? '').trim();
  const kind = (fields.kind ?? '').trim();
  if (cron === '' && kind === '') throw new HttpError(400, 'a schedule needs a cron expression or a kind');
  if (kind !== '' && kind !== 'cron' && !(SCHEDULE_KINDS as readonly string[]).includes(kind))
    throw new HttpError(400, `kind must be one of ${SCHEDULE_KINDS.join(', ')}, got "${kind}"`);
  const options: ScheduleOptions = {
    name,
    ...(cron !== '' ? { cron } : { kind: kind as ScheduleKind }),
    ...(fields.timeZone?.trim() ? { timeZone: fields.timeZone.trim() } : {}),
    ...(fields.paused === 'on' || fields.paused === 'true' ? { paused: true } : {}),
    ...(fields.queue?.trim() ? { job: { queue: fields.queue.trim() } } : {}),
  };
  if (fields.minutes?.trim()) {
    const minutes = Number(fields.minutes);
    if (!Number.isInteger(minutes) || minutes < 1)
      throw new HttpError(400, `minutes must be a positive whole number, got "${fields.minutes}"`);
    options.minutes = minutes;
  }
  try {
    // Checked here (cron syntax, zone, kind) so bad input never reaches the store.
    defineSchedule(task, args, options, Date.now());
  } catch (error) {
    throw new HttpError(400, (error as Error).message);
  }
  if ((await deployment.schedules()).some((s) => s.name === name))
    throw new HttpError(409, `a schedule named "${name}" already exists`);
  await deployment.tasq.schedule(task, args, options);
  return `added schedule ${name}`;
}

export type ScheduleAction = 'pause' | 'resume' | 'run-now' | 'remove';
export const SCHEDULE_ACTIONS: readonly ScheduleAction[] = ['pause', 'resume', 'run-now', 'remove'];

export async function scheduleAction(
  deployment: Deployment,
  name: string,
  action: ScheduleAction,
): Promise<string> {
  const schedule = (await deployment.schedules()).find((s) => s.name === name);
  if (!schedule) throw new HttpError(404, `no schedule named "${name}"`);
  const { tasq } = deployment;
  const store = await runtimeServicesOf(tasq).schedules();
  switch (action) {
    case 'pause':
    case 'resume': {
      const pause = action === 'pause';
      if (schedule.paused === pause) return `schedule ${name} is already ${pause ? 'paused' : 'running'}`;
      await store.save(
        withPaused(schedule, pause, runtimeServicesOf(tasq).clock.now(), tasq.config.timeZone),
      );
      return `${pause ? 'paused' : 'resumed'} schedule ${name}`;
    }
    case 'run-now': {
      const job = await tasq.enqueueByName(schedule.task, schedule.args, {
        ...(schedule.options as Parameters<typeof tasq.enqueueByName>[2]),
      });
      return `enqueued a run of schedule ${name}: job ${job.id}`;
    }
    case 'remove':
      await store.remove(schedule.id);
      return `removed schedule ${name}`;
  }
}

export type ClusterAction = Extract<ControlCommand, 'pool-grow' | 'pool-shrink' | 'restart' | 'shutdown'>;
export const CLUSTER_ACTIONS: readonly ClusterAction[] = ['pool-grow', 'pool-shrink', 'restart', 'shutdown'];

/** Send a signed control command to one cluster (by id `name@host:pid`) and report its answer. */
export async function controlCluster(
  deployment: Deployment,
  clusterId: string,
  action: ClusterAction,
  fields: Fields,
): Promise<string> {
  if (!deployment.pubsub)
    throw new HttpError(
      409,
      `the broker "${deployment.config.broker.module}" has no pub/sub, so clusters cannot be controlled remotely`,
    );
  let count: number | undefined;
  if (action === 'pool-grow' || action === 'pool-shrink') {
    const text = (fields.count ?? '1').trim();
    count = Number(text);
    if (!/^\d+$/.test(text) || count < 1 || count > 64)
      throw new HttpError(400, `count must be a whole number from 1 to 64, got "${fields.count}"`);
  }
  if (!/^[^\s]{1,300}$/.test(clusterId)) throw new HttpError(400, 'cluster id is malformed');
  const { replies, keyMismatches } = await requestControl(deployment.config, {
    command: action,
    cluster: clusterId,
    timeoutMs: 3_000,
    expectReplies: 1,
    ...(deployment.cwd !== undefined ? { cwd: deployment.cwd } : {}),
    ...(count !== undefined ? { count } : {}),
  });
  if (keyMismatches.length > 0)
    throw new HttpError(
      502,
      `cluster ${clusterId} cannot verify requests signed with this deployment's secret`,
    );
  const reply = replies.find((r) => r.cluster === clusterId) ?? replies[0];
  if (!reply) throw new HttpError(404, `no cluster "${clusterId}" answered within 3 s`);
  if (!reply.ok) throw new HttpError(502, `cluster ${reply.cluster}: ${reply.error}`);
  const result = reply.result ?? {};
  switch (action) {
    case 'pool-grow':
    case 'pool-shrink':
      return `cluster ${reply.cluster}: pool ${result.previous} -> ${result.poolSize} worker(s)`;
    case 'restart':
      return `cluster ${reply.cluster}: restarting ${result.restarting} worker(s)`;
    case 'shutdown':
      return `cluster ${reply.cluster}: stopping`;
  }
}
