/**
 * The oldest Node.js tasq runs on, and the message for an older one. Without this check an old Node
 * fails deep inside, with `No such built-in module: node:sqlite` or `process.getBuiltinModule is not a
 * function`, which names neither the version needed nor the one running.
 */

/** node:sqlite without a flag (the embedded default broker) arrived in 22.13; process.getBuiltinModule in 22.3. */
export const MINIMUM_NODE_VERSION = '22.13.0';

/** Whether `running` (a `process.versions.node` string) is older than MINIMUM_NODE_VERSION. */
export function isNodeTooOld(running: string = process.versions.node): boolean {
  const parts = (version: string) => version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const have = parts(running);
  const need = parts(MINIMUM_NODE_VERSION);
  for (let index = 0; index < need.length; index++) {
    const difference = (have[index] ?? 0) - need[index]!;
    if (difference !== 0) return difference < 0;
  }
  return false;
}

/** `"<what> needs Node.js 22.13.0 or newer; this is Node.js v20.20.2 (<path>)"`. */
export function nodeVersionMessage(what: string, running: string = process.versions.node): string {
  return `${what} needs Node.js ${MINIMUM_NODE_VERSION} or newer; this is Node.js v${running} (${process.execPath})`;
}
