/** Commands on a deployment's queues and storage: queue size|purge|pause|resume, migrate. */
import { Administration } from '@tasq/core';
import { importFromApplication, runtimeServicesOf } from '@tasq/core/internal';
import { describeStatus } from './job-format.js';
import { type CommandIo, commonHelp, openClient, parse, readConfig, withClient } from './common.js';
import { UsageError } from './errors.js';

export const queueHelp = `Usage: tasq queue size|purge|pause|resume QUEUE [options]

  size QUEUE     print ready, delayed, reserved and dead counts, and "(paused)" for a paused queue
  purge QUEUE    delete every ready and delayed package of QUEUE; prints how many
  pause QUEUE    no cluster takes new jobs from QUEUE (persisted; enqueues still succeed)
  resume QUEUE   clusters take jobs from QUEUE again

Options:
      --json       print JSON
${commonHelp}`;

export async function queueCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (values.help) {
    io.out(queueHelp);
    return 0;
  }
  const [action, queue, extra] = positionals;
  if (action !== 'size' && action !== 'purge' && action !== 'pause' && action !== 'resume') {
    throw new UsageError(
      `queue needs "size", "purge", "pause" or "resume", got ${action === undefined ? 'nothing' : `"${action}"`}`,
    );
  }
  if (!queue) throw new UsageError(`queue ${action} needs a QUEUE name`);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const config = await readConfig(values, io);
  return withClient(openClient(config, io), async (tasq) => {
    const services = runtimeServicesOf(tasq);
    const admin = Administration.of(tasq);
    if (action === 'size') {
      const status = await admin.queueStatus(queue);
      io.out(values.json ? JSON.stringify(status) : `${queue}: ${describeStatus(status)}`);
    } else if (action === 'pause' || action === 'resume') {
      await (action === 'pause' ? admin.pause(queue) : admin.resume(queue));
      const paused = action === 'pause';
      io.out(
        values.json
          ? JSON.stringify({ queue, paused })
          : paused
            ? `${queue}: paused (clusters take no new jobs from it; enqueues still succeed)`
            : `${queue}: resumed`,
      );
    } else {
      const removed = await services.broker.purge(queue);
      io.out(values.json ? JSON.stringify({ queue, removed }) : `${queue}: purged ${removed} package(s)`);
    }
    return 0;
  });
}

export const migrateHelp = `Usage: tasq migrate [options]

Apply the configured broker package's database migrations (for example @tasq/orm's), then exit.
Brokers without migrations need none: the command says so and exits 0.
${commonHelp}`;

export async function migrateCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help) {
    io.out(migrateHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const config = await readConfig(values, io);
  if (config.broker.module === 'memory') {
    io.out('the memory broker has no migrations');
    return 0;
  }
  const module = await importFromApplication(config.broker.module, io.cwd);
  const migrate = module.migrate;
  if (typeof migrate !== 'function') {
    io.out(`the broker chosen by \`${config.broker.source}\` has no migrations; nothing to do`);
    return 0;
  }
  // The deployment name picks the tables to migrate (a deployment other than "default" has its own).
  await (migrate as (options: unknown, context: { deployment: string }) => Promise<void>)(
    config.broker.options,
    { deployment: config.name },
  );
  io.out(`migrations applied (broker chosen by \`${config.broker.source}\`)`);
  return 0;
}
