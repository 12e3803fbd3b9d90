/**
 * For unit tests of the runtime: a configuration on the in-process memory broker (a deployment of its
 * own each time, so tests share nothing) and a cluster over it with the inline pool, running the test
 * fixtures' tasks on a clock the test moves.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type ManualClock, type ResolvedConfig, resolveConfig, type TasqConfigInput } from '@tasq/core';
import { type ClusterHandle, startCluster } from '../start-cluster.js';

const tasksModule = fileURLToPath(new URL('../../test/fixtures/tasks.mjs', import.meta.url));

export function memoryConfig(options: TasqConfigInput = {}): ResolvedConfig {
  return resolveConfig(
    {
      brokerClass: 'memory',
      name: `unit-${randomBytes(4).toString('hex')}`,
      secret: 'runtime-unit-test-secret',
      tasks: [tasksModule],
      pool: 'inline',
      workers: 1,
      guardCycle: '100ms',
      scheduler: false,
      ...options,
    },
    { env: {} },
  );
}

/**
 * A cluster on `config` whose leases, waits, timers and due times follow `clock`. Its reserves wait (on
 * the clock) until the memory broker is given a package, so work flows without the clock moving.
 */
export function startOnClock(config: ResolvedConfig, clock: ManualClock): Promise<ClusterHandle> {
  return startCluster(config, { clock, reserveWaitMs: 60_000, monitoring: false });
}
