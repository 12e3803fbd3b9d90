/**
 * The TASQ_* variables tasq reads, and the warning for one it does not: a misspelled variable
 * (TASQ_WORKRES) would otherwise be ignored without a word, and the setting silently keep its default.
 */
import { closestMatch } from 'leven';

/** TASQ_* variables read besides one per configuration option. */
const OTHER_VARIABLES = [
  'TASQ_SECRET',
  // The dashboard's passwords (config `dashboard`), kept out of files.
  'TASQ_DASHBOARD_PASSWORD',
  'TASQ_DASHBOARD_VIEWER_PASSWORD',
  // Set by a cluster for its own worker processes.
  'TASQ_WORKER_SETTINGS',
  // Set by `tasq cluster` when it restarts itself with the sentinel's Node flags.
  'TASQ_SENTINEL_FLAGS',
];

/**
 * One warning per TASQ_* variable in `env` that is not in `known` (the variables of the options) nor
 * one of the others tasq reads, naming the closest known variable when one is near enough to be a typo.
 */
export function unknownVariableWarnings(
  env: Record<string, string | undefined>,
  known: readonly string[],
): string[] {
  const names = [...known, ...OTHER_VARIABLES];
  const warnings: string[] = [];
  for (const variable of Object.keys(env)) {
    if (!variable.startsWith('TASQ_') || env[variable] === undefined || names.includes(variable)) continue;
    const suffix = variable.slice('TASQ_'.length);
    // Up to half the name may differ (TASQ_REDIS_URL → TASQ_REDIS); past that a "did you mean" misleads.
    const closest = closestMatch(
      suffix,
      names.map((name) => name.slice('TASQ_'.length)),
      { maxDistance: Math.max(2, Math.floor(suffix.length / 2)) },
    );
    warnings.push(
      closest === undefined
        ? `${variable} is not a tasq setting and is ignored (each option has one: TASQ_WORKERS, TASQ_SAVE_LIMIT...)`
        : `${variable} is not a tasq setting and is ignored; did you mean TASQ_${closest}?`,
    );
  }
  return warnings;
}
