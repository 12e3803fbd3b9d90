import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-connection.js';

/**
 * The Lua scripts (files in `lua/`, named after the contract operation they implement), read once at
 * module load and registered on each client with `defineCommand`: ioredis sends EVALSHA and falls back
 * to EVAL once when the server answers NOSCRIPT (a restarted or failed-over server), so a script body
 * crosses the network once per server, not once per call.
 */
const SCRIPTS = {
  tasqEnqueue: { file: 'enqueue.lua', keys: 4 },
  tasqReserve: { file: 'reserve.lua', keys: 5 },
  // Variable number of keys: the first argument of a call is the key count.
  tasqAck: { file: 'ack.lua', keys: undefined },
  tasqRelease: { file: 'release.lua', keys: 6 },
  tasqDeadLetter: { file: 'dead-letter.lua', keys: 3 },
  tasqExtend: { file: 'extend.lua', keys: 2 },
  tasqSize: { file: 'size.lua', keys: 4 },
  tasqPurge: { file: 'purge.lua', keys: 2 },
  tasqResultSave: { file: 'result-save.lua', keys: 1 },
  tasqResultList: { file: 'result-list.lua', keys: 1 },
  tasqResultGroup: { file: 'result-group.lua', keys: 1 },
  tasqResultPrune: { file: 'result-prune.lua', keys: 0 },
  tasqScheduleRecordRun: { file: 'schedule-record-run.lua', keys: 3 },
  tasqLeaderAcquire: { file: 'leader-acquire.lua', keys: 1 },
  tasqLeaderRelease: { file: 'leader-release.lua', keys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type ScriptArgument = string | number | Buffer;
type ScriptCall = (...argumentsList: ScriptArgument[]) => Promise<unknown>;

function commandOf(target: unknown, name: string): ScriptCall {
  return (target as Record<string, ScriptCall>)[name] as ScriptCall;
}

const LUA_DIRECTORY = new URL('../lua/', import.meta.url);
const sources = new Map<ScriptName, string>();
for (const [name, script] of Object.entries(SCRIPTS) as [ScriptName, (typeof SCRIPTS)[ScriptName]][]) {
  sources.set(name, readFileSync(new URL(script.file, LUA_DIRECTORY), 'utf8'));
}

const prepared = new WeakSet<object>();

/** Register every script on `client` (idempotent per client). */
export function prepareScripts(client: RedisClient): void {
  if (prepared.has(client)) return;
  for (const [name, script] of Object.entries(SCRIPTS) as [ScriptName, (typeof SCRIPTS)[ScriptName]][]) {
    const lua = sources.get(name) as string;
    client.defineCommand(name, script.keys === undefined ? { lua } : { numberOfKeys: script.keys, lua });
  }
  prepared.add(client);
}

/** Call script `name` with keys then arguments; bulk replies come back as strings. */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  ...argumentsList: ScriptArgument[]
): Promise<unknown> {
  return commandOf(client, name).apply(client, argumentsList);
}

/** Call script `name`; bulk replies come back as Buffers (package bodies stay bytes). */
export function runScriptBuffer(
  client: RedisClient,
  name: ScriptName,
  ...argumentsList: ScriptArgument[]
): Promise<unknown> {
  return commandOf(client, `${name}Buffer`).apply(client, argumentsList);
}

/** Queue script `name` on a pipeline (`client.pipeline()`). */
export function pipelineScript(
  pipeline: unknown,
  name: ScriptName,
  ...argumentsList: ScriptArgument[]
): void {
  void commandOf(pipeline, name).apply(pipeline, argumentsList);
}
