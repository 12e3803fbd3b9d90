import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-connection.js';

/**
 * The Lua scripts (files in `lua/`, named after the contract operation they implement), read once at
 * module load. Calls send EVALSHA with the script's SHA-1; on a NOSCRIPT reply (a restarted or
 * failed-over server) the same call is sent once as EVAL, which also caches the script on the server. So a
 * script body crosses the network once per server, not once per call. (ioredis's `defineCommand` does the
 * same, but its per-call wrapper cost about 10 µs of CPU per call here, a quarter of an enqueue.)
 */
const SCRIPTS = {
  tasqEnqueue: { file: 'enqueue.lua', keys: 6 },
  tasqReserve: { file: 'reserve.lua', keys: 5 },
  // Variable number of keys: the first argument of a call is the key count.
  tasqAck: { file: 'ack.lua', keys: undefined },
  tasqRelease: { file: 'release.lua', keys: 6 },
  tasqDeadLetter: { file: 'dead-letter.lua', keys: 5 },
  tasqExtend: { file: 'extend.lua', keys: 2 },
  tasqSize: { file: 'size.lua', keys: 5 },
  tasqPurge: { file: 'purge.lua', keys: 4 },
  // Administration: each file runs after admin-common.lua (its helpers), joined into one script.
  tasqAdminFind: { file: 'admin-find.lua', keys: 7, common: true },
  tasqAdminList: { file: 'admin-list.lua', keys: 4, common: true },
  tasqAdminListDead: { file: 'admin-list-dead.lua', keys: 2, common: true },
  tasqAdminRequeueDead: { file: 'admin-requeue-dead.lua', keys: 7, common: true },
  tasqAdminDeleteDead: { file: 'admin-delete-dead.lua', keys: 3, common: true },
  tasqAdminPurgeDead: { file: 'admin-purge-dead.lua', keys: 3, common: true },
  tasqAdminTrimDead: { file: 'admin-trim-dead.lua', keys: 3, common: true },
  tasqAdminRemove: { file: 'admin-remove.lua', keys: 4, common: true },
  tasqResultDelete: { file: 'result-delete.lua', keys: 1 },
  // Variable number of keys: the first argument of a call is the key count.
  tasqResultSave: { file: 'result-save.lua', keys: undefined },
  // Variable number of keys: the first argument of a call is the key count.
  tasqResultList: { file: 'result-list.lua', keys: undefined },
  tasqResultGroup: { file: 'result-group.lua', keys: 1 },
  tasqResultPrune: { file: 'result-prune.lua', keys: 1 },
  tasqResultClaim: { file: 'result-claim.lua', keys: 2 },
  tasqScheduleRecordRun: { file: 'schedule-record-run.lua', keys: 3 },
  tasqLeaderAcquire: { file: 'leader-acquire.lua', keys: 1 },
  tasqLeaderRelease: { file: 'leader-release.lua', keys: 1 },
  tasqRateLimitTake: { file: 'rate-limit-take.lua', keys: 1 },
  tasqPublish: { file: 'publish.lua', keys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type ScriptArgument = string | number | Buffer;

interface LoadedScript {
  lua: string;
  sha: string;
  keys: number | undefined;
}

const LUA_DIRECTORY = new URL('../lua/', import.meta.url);
const ADMIN_COMMON = readFileSync(new URL('admin-common.lua', LUA_DIRECTORY), 'utf8');
const loaded = new Map<ScriptName, LoadedScript>();
for (const [name, script] of Object.entries(SCRIPTS) as [ScriptName, (typeof SCRIPTS)[ScriptName]][]) {
  const own = readFileSync(new URL(script.file, LUA_DIRECTORY), 'utf8');
  const lua = 'common' in script && script.common ? `${ADMIN_COMMON}\n${own}` : own;
  loaded.set(name, { lua, sha: createHash('sha1').update(lua).digest('hex'), keys: script.keys });
}

type EvalCall = (script: string, ...argumentsList: ScriptArgument[]) => Promise<unknown>;

function scriptOf(name: ScriptName): LoadedScript {
  return loaded.get(name) as LoadedScript;
}

function withKeyCount(script: LoadedScript, argumentsList: ScriptArgument[]): ScriptArgument[] {
  return script.keys === undefined ? argumentsList : [script.keys, ...argumentsList];
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

async function run(
  client: RedisClient,
  name: ScriptName,
  argumentsList: ScriptArgument[],
  evalsha: 'evalsha' | 'evalshaBuffer',
  evaluate: 'eval' | 'evalBuffer',
): Promise<unknown> {
  const script = scriptOf(name);
  const callArguments = withKeyCount(script, argumentsList);
  const methods = client as unknown as Record<string, EvalCall>;
  try {
    return await (methods[evalsha] as EvalCall).call(client, script.sha, ...callArguments);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return (methods[evaluate] as EvalCall).call(client, script.lua, ...callArguments);
  }
}

/** Call script `name` with keys then arguments; bulk replies come back as strings. */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  ...argumentsList: ScriptArgument[]
): Promise<unknown> {
  return run(client, name, argumentsList, 'evalsha', 'eval');
}

/** Call script `name`; bulk replies come back as Buffers (package bodies stay bytes). */
export function runScriptBuffer(
  client: RedisClient,
  name: ScriptName,
  ...argumentsList: ScriptArgument[]
): Promise<unknown> {
  return run(client, name, argumentsList, 'evalshaBuffer', 'evalBuffer');
}

/**
 * Run several calls of script `name` in one pipeline (one round trip). Calls answered NOSCRIPT are sent
 * again as EVAL. Rejects with the first error of any call.
 */
export async function runScriptPipeline(
  client: RedisClient,
  name: ScriptName,
  calls: ScriptArgument[][],
): Promise<unknown[]> {
  const script = scriptOf(name);
  const pipeline = client.pipeline();
  for (const argumentsList of calls)
    pipeline.evalsha(script.sha, ...(withKeyCount(script, argumentsList) as [number]));
  const results = (await pipeline.exec()) ?? [];
  const replies: unknown[] = [];
  for (let index = 0; index < calls.length; index++) {
    const [error, reply] = results[index] ?? [new Error('pipeline returned no reply')];
    if (!error) {
      replies.push(reply);
      continue;
    }
    if (!isNoScript(error)) throw error;
    replies.push(
      await client.eval(script.lua, ...(withKeyCount(script, calls[index] as ScriptArgument[]) as [number])),
    );
  }
  return replies;
}
