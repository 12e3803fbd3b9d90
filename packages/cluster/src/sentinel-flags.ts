/**
 * `tasq cluster` runs the sentinel with a bounded young generation. V8 sizes it by the allocation rate,
 * and a sentinel draining jobs allocates fast: on Node 24 its new space grew to 104–106 MiB (16 MiB
 * semi-spaces would be 32 at most), most of its RSS growth under load. Measured by hand with the CLI
 * itself (200,000 no-op jobs at c=50 on Redis, library defaults, 2 rounds, runs alternated, load
 * average 2.6–3.8 on 2 cores): RSS peak 279–280 MiB on V8's sizing, 191–196 MiB with the flag below,
 * sentinel CPU 9.28 and 8.82 s against 9.37 and 8.84 (no cost).
 *
 * Tighter settings save more for CPU (apps/bench cluster-memory, README "cluster-memory"): adding
 * `--heap-growing-percent=100` (the old generation collected at twice the live heap instead of up to
 * four times) peaks at 146–153 MiB for 8–14% more sentinel CPU; 8 MiB semi-spaces save 12 MiB more for
 * 10% more; 4 MiB +32%, 2 MiB +46%. Those are left to the operator
 * (`node --max-semi-space-size=16 --heap-growing-percent=100 $(which tasq) cluster`).
 *
 * A V8 flag cannot be changed once the heap exists, so bin/tasq.js replaces its own process image
 * (process.execve: same pid, stdio and signals) with one started with the flag, before it loads
 * anything else. An application that embeds startCluster sets its own Node flags.
 */
export const SENTINEL_FLAGS = ['--max-semi-space-size=16'];

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
