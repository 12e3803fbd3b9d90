/** `tasq check`: can this deployment's broker and result backend be reached, do clusters share its keys. */
import { Tasq } from '@tasq/core';
import { runtimeServicesOf } from '@tasq/core/internal';
import { checkClusterKeys, type KeyCheck } from '../monitoring/key-check.js';
import { loadTasks } from '../worker/worker-runtime.js';
import { type CommandIo, commonHelp, durationFlag, parse, readConfig } from './common.js';
import { UsageError } from './errors.js';

export const checkHelp = `Usage: tasq check [options]

Validate the configuration, import the tasks modules, connect to the broker and the result backend, and
name what is wrong. Warns when packages would be signed with the insecure development secret. Then asks
the running clusters whether they have this configuration's key (a signed ping over the broker's
pub/sub; without pub/sub, the key ids clusters store with their stats are compared): a cluster with
another secret dead-letters this application's jobs unread. Only key ids are compared, never a key.

Options:
      --cluster-wait D     how long running clusters get to answer (default 1s; 0 does not ask)
${commonHelp}`;

export async function checkCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { 'cluster-wait': { type: 'string' } });
  if (values.help) {
    io.out(checkHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const clusterWaitMs = durationFlag(values['cluster-wait'], '--cluster-wait') ?? 1_000;
  const config = await readConfig(values, io, { showsWarnings: true });
  io.out(
    `ok: configuration valid (deployment ${config.name}, broker ${config.broker.module} via ${config.broker.source})`,
  );
  for (const warning of config.warnings) io.out(`warning: ${warning}`);
  let problems = 0;
  if (config.insecureSecret) {
    io.out(
      'warning: no secret configured: packages are signed with the insecure development key; set `secret` or TASQ_SECRET',
    );
  }
  if (config.tasks.length === 0) {
    io.out('warning: no `tasks` modules configured: workers will know no tasks');
  } else {
    try {
      const registry = await loadTasks({ tasks: config.tasks, cwd: io.cwd });
      io.out(`ok: tasks modules import (${registry.names().length} tasks: ${registry.names().join(', ')})`);
    } catch (error) {
      problems++;
      io.out(`problem: ${(error as Error).message}`);
    }
  }
  let tasq: Tasq | undefined;
  try {
    tasq = await Tasq.open(config, { cwd: io.cwd });
  } catch (error) {
    io.out(
      `problem: cannot open the broker or result backend: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`,
    );
    return 1;
  }
  const services = runtimeServicesOf(tasq);
  const broker = `broker ${services.broker.name}${addressOf(config.broker.options)}`;
  const results = `result backend ${services.results.name}${addressOf((config.resultBackend ?? config.broker).options)}`;
  try {
    try {
      const size = await services.broker.size(config.queue);
      io.out(`ok: ${broker} answers (queue ${config.queue}: ${size.ready} ready)`);
    } catch (error) {
      problems++;
      io.out(`problem: ${broker}: ${(error as Error).message}`);
    }
    try {
      await services.results.get('tasq-check-probe');
      io.out(`ok: ${results} answers`);
    } catch (error) {
      problems++;
      io.out(`problem: ${results}: ${(error as Error).message}`);
    }
    if (clusterWaitMs > 0) problems += await reportClusterKeys(tasq, clusterWaitMs, io);
  } finally {
    await tasq.close();
  }
  return problems > 0 ? 1 : 0;
}

/** `tasq check`'s lines about the running clusters' keys; returns the number of problems. */
async function reportClusterKeys(tasq: Tasq, waitMs: number, io: CommandIo): Promise<number> {
  let check: KeyCheck;
  try {
    check = await checkClusterKeys(tasq, { waitMs, cwd: io.cwd });
  } catch (error) {
    io.out(`warning: could not ask the running clusters for their keys: ${(error as Error).message}`);
    return 0;
  }
  const how =
    check.source === 'control'
      ? `a signed ping, answers within ${check.withinMs} ms`
      : `no pub/sub on this broker: the key ids clusters stored with their stats in the last ${Math.round(check.withinMs / 1000)} s`;
  if (check.clusters.length === 0) {
    io.out(
      `note: no running cluster of deployment "${tasq.config.name}" to compare keys with (${how}); ` +
        'a cluster of another deployment `name` is not asked',
    );
    return 0;
  }
  let problems = 0;
  for (const cluster of check.clusters) {
    if (cluster.sameKey) {
      io.out(`ok: cluster ${cluster.cluster} has this configuration's key (key id ${check.keyId}; ${how})`);
      continue;
    }
    problems++;
    const theirs = cluster.keyIds?.length ? `; the cluster has key id ${cluster.keyIds.join(', ')}` : '';
    io.out(
      `problem: cluster ${cluster.cluster} does not have this configuration's key (key id ${check.keyId}${theirs}; ${how}): ` +
        'it dead-letters the jobs sent from here unread; give both the same `secret` (or TASQ_SECRET)',
    );
  }
  return problems;
}

/**
 * " at host:port/path" for a plugin configured by URL, without credentials, so `tasq check` says which
 * server it reached (or could not); empty when there is no URL to show.
 */
function addressOf(options: Record<string, unknown>): string {
  if (typeof options.url !== 'string') return '';
  try {
    const url = new URL(options.url);
    // A file (sqlite:./tasq.db) has no host: its path says where it is.
    if (!url.host) return ` at ${decodeURIComponent(url.pathname)}`;
    return ` at ${url.host}${url.pathname.length > 1 ? url.pathname : ''}`;
  } catch {
    return '';
  }
}
