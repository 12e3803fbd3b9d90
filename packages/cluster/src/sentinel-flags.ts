/**
 * `tasq cluster` runs the sentinel with a bounded young generation and a tighter old-generation limit.
 * V8 sizes both by the allocation rate, and a sentinel draining jobs allocates fast: on Node 24, over
 * 200,000 no-op jobs at c=50 on Redis (apps/bench cluster-memory, library defaults, 2 rounds, load
 * average 3.5–6.8 on 2 cores), its new space grew to 104 MiB and its old space to 69 MiB around a live
 * heap of about 18 MiB (V8 lets it reach 4× before a full collection): RSS peak 287 MiB. With the flags
 * below: new space 16 MiB, old space 38 MiB, peak 136 MiB, for 42.4 µs of sentinel CPU per job against
 * 41.4 (13,763 against 14,144 jobs/s, within the run's noise). Smaller settings cost CPU: semi-spaces of
 * 4 MiB +32%, 2 MiB +46%; a growing factor of 1.5 +17% for 12 MiB less.
 *
 * A V8 flag cannot be changed once the heap exists, so bin/tasq.js replaces its own process image
 * (process.execve: same pid, stdio and signals) with one started with the flags, before it loads
 * anything else. An application that embeds startCluster sets its own Node flags.
 */
export const SENTINEL_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=100'];

/**
 * Set by the restart to the flags it added: the restarted process knows it has them, and the workers'
 * default flags leave them out (pool/worker-handle.ts), so the workers' young generation stays theirs.
 */
export const SENTINEL_FLAGS_VARIABLE = 'TASQ_SENTINEL_FLAGS';

export interface RestartInputs {
  argv: string[];
  execArgv: string[];
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  canExecve: boolean;
}

/**
 * The arguments (argv[0] first, for execve) and environment to restart `tasq cluster` with, or
 * undefined when the process should go on as it is: another command, a flag of the same name chosen by
 * the user (on the command line or in NODE_OPTIONS), already restarted, or no execve (Windows, Node
 * before 22.15).
 */
export function sentinelRestart(
  inputs: RestartInputs,
): { args: string[]; env: NodeJS.ProcessEnv } | undefined {
  const { argv, execArgv, env } = inputs;
  if (argv[2] !== 'cluster' || !inputs.canExecve || inputs.platform === 'win32') return undefined;
  if (env[SENTINEL_FLAGS_VARIABLE] !== undefined) return undefined;
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  const names = SENTINEL_FLAGS.map((flag) => flag.split('=')[0]!);
  if (given.some((arg) => names.some((name) => arg.startsWith(name)))) return undefined;
  return {
    args: [argv[0]!, ...execArgv, ...SENTINEL_FLAGS, ...argv.slice(1)],
    env: { ...env, [SENTINEL_FLAGS_VARIABLE]: SENTINEL_FLAGS.join(' ') },
  };
}

/** The Node flags tasq's restart added to this process (none when it was not restarted). */
export function addedSentinelFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[SENTINEL_FLAGS_VARIABLE] ?? '').split(' ').filter(Boolean);
}

/** Restart this process as `sentinelRestart` says; returns only when it does not. */
export function restartWithSentinelFlags(): void {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never })
    .execve;
  const restart = sentinelRestart({
    argv: process.argv,
    execArgv: process.execArgv,
    env: process.env,
    platform: process.platform,
    canExecve: typeof execve === 'function',
  });
  if (restart && execve) execve.call(process, process.execPath, restart.args, restart.env);
}
