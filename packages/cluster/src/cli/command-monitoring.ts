/** `tasq events` (stream monitoring events) and `tasq control` (remote control of running clusters). */
import type { TasqEvent, TasqEventType } from '@tasq/core';
import { keyIdOf } from '@tasq/core/internal';
import { requestControl } from '../monitoring/control-client.js';
import { subscribeEvents } from '../monitoring/subscribe-events.js';
import { CONTROL_COMMANDS, type ControlCommand } from '../monitoring/wire.js';
import { type CommandIo, commonHelp, durationFlag, parse, readConfig } from './common.js';
import { UsageError } from './errors.js';

const EVENT_TYPES: readonly TasqEventType[] = [
  'task-received',
  'task-started',
  'task-succeeded',
  'task-failed',
  'task-retried',
  'task-rejected',
  'task-cancelled',
  'task-expired',
  'task-progress',
  'worker-online',
  'worker-heartbeat',
  'worker-offline',
  'cluster-online',
  'cluster-heartbeat',
  'cluster-offline',
  'dashboard-action',
];

export const eventsHelp = `Usage: tasq events [options]

Stream the monitoring events of every cluster of this deployment (task, worker and cluster events,
heartbeats every few seconds) until Ctrl-C. Needs a broker with pub/sub (Redis, RabbitMQ, PostgreSQL,
SQLite); events not signed with the deployment's secret are ignored.

Options:
      --json             one JSON object per line
      --types a,b        only these event types (e.g. task-failed,worker-offline)
      --no-heartbeats    leave out worker-heartbeat and cluster-heartbeat
${commonHelp}`;

export async function eventsCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    types: { type: 'string' },
    'no-heartbeats': { type: 'boolean' },
  });
  if (values.help) {
    io.out(eventsHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  let types: TasqEventType[] | undefined;
  if (values.types !== undefined) {
    types = values.types.split(',').map((t) => t.trim()) as TasqEventType[];
    const unknown = types.find((t) => !EVENT_TYPES.includes(t));
    if (unknown !== undefined || types.length === 0) {
      throw new UsageError(
        `--types: unknown event type "${unknown ?? ''}" (known: ${EVENT_TYPES.join(', ')})`,
      );
    }
  }
  if (values['no-heartbeats'])
    types = (types ?? [...EVENT_TYPES]).filter((t) => t !== 'worker-heartbeat' && t !== 'cluster-heartbeat');
  const config = await readConfig(values, io);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const events = await subscribeEvents(config, {
      cwd: io.cwd,
      signal: stop.signal,
      ...(types ? { types } : {}),
    });
    for await (const event of events) io.out(values.json ? JSON.stringify(event) : describeEvent(event));
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One readable line per event. */
export function describeEvent(event: TasqEvent): string {
  const time = new Date(event.at).toISOString().slice(11, 23);
  const head = `${time} ${event.type.padEnd(17)} ${event.cluster}`;
  switch (event.type) {
    case 'cluster-online':
    case 'cluster-heartbeat':
    case 'cluster-offline':
      return `${head} workers=${event.workers} prefetched=${event.prefetched ?? 0} queues=${event.queues.join(',')}`;
    case 'worker-online':
    case 'worker-heartbeat':
    case 'worker-offline':
      return `${head} pid=${event.pid} rss=${Math.round(event.rssBytes / 2 ** 20)}MB tasksDone=${event.tasksDone} busy=${event.busy}${event.reason ? ` reason=${JSON.stringify(event.reason)}` : ''}`;
    case 'dashboard-action':
      return `${head} ${event.action} ${event.target || '-'} ${event.outcome} role=${event.role} from=${event.address}${event.detail ? ` ${JSON.stringify(event.detail)}` : ''}`;
    default:
      return `${head} ${event.name || '-'} ${event.jobId} queue=${event.queue} attempt=${event.attempt}${event.runtimeMs !== undefined ? ` runtime=${event.runtimeMs}ms` : ''}${event.worker !== undefined ? ` worker=${event.worker}` : ''}${event.progress !== undefined ? ` progress=${JSON.stringify(event.progress)}` : ''}${event.error ? ` error=${JSON.stringify(event.error)}` : ''}`;
  }
}

export const controlHelp = `Usage: tasq control COMMAND [N] [options]

Send a command to running clusters over the broker's pub/sub (signed with the deployment's secret) and
print each cluster's answer. Exits 1 when no cluster answered within the timeout or one reported an error.

Commands:
  ping               every cluster answers with its id and uptime
  stats              pool, workers (pid, memory, tasks done), held packages and counters
  restart            recycle every worker gracefully (running tasks finish; new workers re-import the tasks)
  shutdown           stop gracefully, as on SIGTERM
  pool-grow [N]      add N workers (default 1)
  pool-shrink [N]    retire N workers after they finish what they run (default 1)

Options:
      --cluster NAME   only the cluster with this name (e.g. default, an alt cluster) or id name@host:pid
      --timeout D      how long to wait for answers (default 2s)
      --json           one JSON answer per line
${commonHelp}`;

export async function controlCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    cluster: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(controlHelp);
    return 0;
  }
  const [command, countText, extra] = positionals;
  if (!CONTROL_COMMANDS.includes(command as ControlCommand)) {
    throw new UsageError(
      `control needs one of ${CONTROL_COMMANDS.join(', ')}, got ${command === undefined ? 'nothing' : `"${command}"`}`,
    );
  }
  const resizing = command === 'pool-grow' || command === 'pool-shrink';
  if ((!resizing && countText !== undefined) || extra !== undefined)
    throw new UsageError(`unexpected argument "${extra ?? countText}"`);
  let count: number | undefined;
  if (resizing && countText !== undefined) {
    if (!/^\d+$/.test(countText) || Number(countText) < 1)
      throw new UsageError(`${command} N must be a positive integer, got "${countText}"`);
    count = Number(countText);
  }
  const timeoutMs = durationFlag(values.timeout, '--timeout', 1) ?? 2_000;
  const config = await readConfig(values, io);
  const { replies, keyMismatches } = await requestControl(config, {
    command: command as ControlCommand,
    timeoutMs,
    cwd: io.cwd,
    ...(count !== undefined ? { count } : {}),
    ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
  });
  replies.sort((a, b) => a.cluster.localeCompare(b.cluster));
  for (const reply of replies) {
    if (values.json) io.out(JSON.stringify(reply));
    else if (!reply.ok) io.out(`${reply.cluster}: error: ${reply.error}`);
    else io.out(`${reply.cluster}: ${describeReply(command as ControlCommand, reply.result ?? {})}`);
  }
  for (const notice of keyMismatches) {
    // Never acted on: the cluster could not verify the request.
    const line = {
      cluster: notice.cluster,
      ok: false,
      error: `cannot verify this request: it has key id ${notice.keyIds.join(', ')}, this configuration signs with ${keyIdOf(config.secrets[0]!)} (the secrets differ)`,
    };
    io.out(values.json ? JSON.stringify(line) : `${line.cluster}: error: ${line.error}`);
  }
  if (keyMismatches.length > 0) return 1;
  if (replies.length === 0) {
    const who = values.cluster !== undefined ? `cluster "${values.cluster}"` : 'cluster';
    process.stderr.write(`tasq: no ${who} answered "${command}" within ${timeoutMs} ms\n`);
    return 1;
  }
  return replies.every((reply) => reply.ok) ? 0 : 1;
}

function describeReply(command: ControlCommand, result: Record<string, unknown>): string {
  switch (command) {
    case 'ping':
      return `pong (up ${Math.round(Number(result.uptimeMs) / 1000)} s)`;
    case 'restart':
      return `restarting ${result.restarting} worker(s)`;
    case 'shutdown':
      return 'stopping';
    case 'pool-grow':
    case 'pool-shrink':
      return `pool ${result.previous} -> ${result.poolSize} worker(s)`;
    case 'stats': {
      const stats = result.stats as Record<string, number>;
      const workers = result.workers as Array<{
        pid: number;
        rssBytes: number;
        tasksDone: number;
        state: string;
      }>;
      const lines = [
        `pool ${result.poolSize} x ${result.concurrency}, running ${result.running}, prefetched ${result.prefetched}; succeeded ${stats.succeeded}, failed ${stats.failed}, retried ${stats.retried}, rejected ${stats.rejected}`,
        ...workers.map(
          (w) =>
            `  worker ${w.pid}: ${w.state}, ${Math.round(w.rssBytes / 2 ** 20)} MB, ${w.tasksDone} tasks done`,
        ),
      ];
      return lines.join('\n');
    }
  }
}
