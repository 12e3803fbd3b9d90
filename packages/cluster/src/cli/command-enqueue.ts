/** Client commands about one job: enqueue (optionally waiting for the result) and result. */
import { parseDurationMs, type TaskResult } from '@tasq/core';
import { runtimeServicesOf } from '@tasq/core/internal';
import {
  type CommandIo,
  commonHelp,
  durationFlag,
  openClient,
  parse,
  readConfig,
  taskArguments,
  withClient,
} from './common.js';
import { UsageError } from './errors.js';

function describeResult(result: TaskResult): string {
  const runtime = result.stoppedAt - result.startedAt;
  const head = `${result.id} ${result.name} ${result.status} after ${result.attempts} attempt(s), ${runtime} ms`;
  if (result.status === 'success') return `${head}\nresult: ${JSON.stringify(result.result)}`;
  return `${head}\nerror: ${result.error?.name ?? 'Error'}: ${result.error?.message ?? ''}`;
}

export const enqueueHelp = `Usage: tasq enqueue NAME [ARGS_JSON] [options]

Enqueue one call of task NAME. ARGS_JSON is a JSON array of arguments (a single value is one argument).
Prints the job id; with --wait, waits for the result and prints it (exit 1 when the task failed).

Options:
  -q, --queue Q        queue (default: the configured queue; with --cluster, that cluster's)
  -n, --cluster NAME   enqueue for the alt cluster NAME: its queue is the default
      --delay D        run no earlier than D from now (10s, 5m)
      --expires E      do not run it if it has not started by then: a duration from now (30m, 2h) or
                       an ISO date (2026-12-24T18:00:00Z); it is stored as expired instead
      --wait           wait for the result
      --timeout D      how long --wait waits (default 30s)
      --json           print JSON
${commonHelp}`;

export async function enqueueCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    queue: { type: 'string', short: 'q' },
    cluster: { type: 'string', short: 'n' },
    delay: { type: 'string' },
    expires: { type: 'string' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(enqueueHelp);
    return 0;
  }
  const [name, argsJson, extra] = positionals;
  if (!name) throw new UsageError('enqueue needs a task NAME (see tasq enqueue --help)');
  if (extra !== undefined)
    throw new UsageError(`unexpected argument "${extra}" (pass arguments as one JSON array)`);
  const args = taskArguments(argsJson);
  const delayMs = durationFlag(values.delay, '--delay');
  const expires = expiresFlag(values.expires);
  const timeoutMs = durationFlag(values.timeout, '--timeout') ?? 30_000;
  const config = await readConfig(values, io, {
    ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
  });
  return withClient(openClient(config, io), async (tasq) => {
    const job = await tasq.enqueueByName(name, args, {
      ...(values.queue !== undefined ? { queue: values.queue } : {}),
      ...(delayMs !== undefined ? { delay: `${delayMs}ms` } : {}),
      ...(expires !== undefined ? { expires } : {}),
    });
    if (!values.wait) {
      io.out(values.json ? JSON.stringify({ id: job.id, name }) : job.id);
      return 0;
    }
    const outcome = await job.outcome(timeoutMs);
    if (!outcome) {
      io.out(
        values.json
          ? JSON.stringify({ id: job.id, name, status: 'pending' })
          : // Not a failure of the job: say what it may be doing and how to keep waiting.
            `${job.id}\nno result within ${timeoutMs} ms: the job is still queued, running or waiting to be retried; ` +
              `\`tasq result ${job.id} --wait 1m\` waits again. If it never runs, check that a cluster consumes ` +
              `queue "${job.queue}" (\`tasq info\` lists the running ones) and has this configuration's secret ` +
              '(`tasq check` compares them)',
      );
      return 1;
    }
    io.out(values.json ? JSON.stringify(outcome) : describeResult(outcome));
    return outcome.status === 'success' ? 0 : 1;
  });
}

/** `--expires`: a duration from now, or a date (ISO 8601) that is still ahead. */
function expiresFlag(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  if (ms !== undefined && ms > 0) return new Date(Date.now() + ms);
  // A date needs at least year-month-day: Date.parse alone would take "5" or "soon 1" as a date.
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new UsageError(
      `--expires must be a duration like 30m or 2h, or an ISO date like 2026-12-24T18:00:00Z, got "${value}"`,
    );
  }
  if (at <= Date.now()) throw new UsageError(`--expires ${value} is already past: the job could never run`);
  return new Date(at);
}

export const resultHelp = `Usage: tasq result ID [options]

Print the stored result of job ID (exit 1 when there is none, or the task failed).

Options:
      --wait D     wait up to D for the result (default: just look)
      --json       print the stored result as JSON
${commonHelp}`;

export async function resultCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, wait: { type: 'string' } });
  if (values.help) {
    io.out(resultHelp);
    return 0;
  }
  const [id, extra] = positionals;
  if (!id) throw new UsageError('result needs a job ID');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const waitMs = durationFlag(values.wait, '--wait') ?? 0;
  const config = await readConfig(values, io);
  return withClient(openClient(config, io), async (tasq) => {
    const services = runtimeServicesOf(tasq);
    const outcome = waitMs > 0 ? await services.results.wait(id, waitMs) : await services.results.get(id);
    if (!outcome) {
      io.out(values.json ? JSON.stringify({ id, status: 'unknown' }) : `no result for job ${id}`);
      return 1;
    }
    io.out(values.json ? JSON.stringify(outcome) : describeResult(outcome));
    return outcome.status === 'success' ? 0 : 1;
  });
}
