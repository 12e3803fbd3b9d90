/**
 * `tasq monitor`: a live view of the deployment that redraws in place (the terminal's alternate screen)
 * until q or Ctrl-C. With pub/sub it follows the monitoring events; without (SQS, MongoDB) it reads the
 * cluster stats each cluster stores in the result backend every heartbeat.
 */
import { readClusterStats } from '../monitoring/cluster-stats-record.js';
import { MonitorView } from '../monitoring/monitor-view.js';
import { openPubSub } from '../monitoring/open-pubsub.js';
import { subscribeEvents } from '../monitoring/subscribe-events.js';
import { type CommandIo, commonHelp, durationFlag, parse, readConfig } from './common.js';
import { UsageError } from './errors.js';
import { openRuntimeServices } from '@tasq/core/internal';

export const monitorHelp = `Usage: tasq monitor [options]

A live view of this deployment: clusters, workers (state, memory, tasks done), queue sizes, success and
failure rates, recent failures. Press q or Ctrl-C to leave.

Options:
      --refresh D    redraw interval (default 1s)
${commonHelp}`;

const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';

export async function monitorCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { refresh: { type: 'string' } });
  if (values.help) {
    io.out(monitorHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const refreshMs = durationFlag(values.refresh, '--refresh', 100) ?? 1_000;
  const config = await readConfig(values, io);
  // A view of the deployment, not an application: the broker and result backend are read directly.
  const services = await openRuntimeServices(config, { cwd: io.cwd });
  const stop = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  const stdin = process.stdin;
  const output = process.stdout;
  let stream: Awaited<ReturnType<typeof subscribeEvents>> | undefined;
  let pubsub: Awaited<ReturnType<typeof openPubSub>>;
  try {
    pubsub = await openPubSub(config, { cwd: io.cwd });
    const view = new MonitorView(
      config.name,
      pubsub ? `${services.broker.name} pub/sub` : `${services.broker.name} (no pub/sub: stored stats)`,
    );
    if (pubsub) {
      stream = await subscribeEvents(config, { pubsub, signal: stop.signal });
      const events = stream;
      void (async () => {
        for await (const event of events) view.ingest(event, Date.now());
      })();
    }
    const readSizes = async () => {
      const sizes = await Promise.all(
        view.queues(config.queues).map(async (queue) => ({ queue, ...(await services.broker.size(queue)) })),
      );
      view.setQueueSizes(sizes);
    };
    const readSnapshots = async () => {
      const now = Date.now();
      const [snapshots, failures] = await Promise.all([
        readClusterStats(services.results, now),
        services.results.list({ status: 'failure', limit: 8 }),
      ]);
      view.ingestSnapshots(
        snapshots,
        failures.map((f) => ({
          at: f.stoppedAt,
          name: f.name,
          jobId: f.id,
          error: `${f.error?.name ?? 'Error'}: ${f.error?.message ?? ''}`,
        })),
      );
    };
    const poll = (read: () => Promise<void>, everyMs: number) => {
      let busy = false;
      const run = () => {
        if (busy || stop.signal.aborted) return;
        busy = true;
        read()
          .catch(() => {})
          .finally(() => {
            busy = false;
          });
      };
      run();
      timers.push(setInterval(run, everyMs));
    };
    poll(readSizes, 2_000);
    if (!pubsub) poll(readSnapshots, 2_000);

    const draw = () => {
      const lines = view.render(Date.now(), output.columns || 120);
      const rows = output.rows || lines.length;
      output.write(
        `\x1b[H${lines
          .slice(0, rows)
          .map((line) => `${line}\x1b[K`)
          .join('\r\n')}\x1b[J`,
      );
    };
    output.write(ENTER_SCREEN);
    draw();
    timers.push(setInterval(draw, refreshMs));
    output.on('resize', draw);

    const onKey = (data: Buffer) => {
      const key = data.toString('utf8');
      if (key === 'q' || key === 'Q' || key === '\x03' || key === '\x1b') stop.abort();
    };
    const onSignal = () => stop.abort();
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    await new Promise<void>((resolve) =>
      stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stdin.off('data', onKey);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    output.off('resize', draw);
    output.write(LEAVE_SCREEN);
    return 0;
  } finally {
    stop.abort();
    for (const timer of timers) clearInterval(timer);
    await stream?.close();
    await pubsub?.close();
    await services.close();
  }
}
