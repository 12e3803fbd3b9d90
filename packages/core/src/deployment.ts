/**
 * The deployment name (configuration `name`) in storage names. Every broker, result backend and schedule
 * store puts it into its namespace (a key prefix, a table prefix, a queue name...), so two projects that
 * share one server never see each other's packages, results or schedules. The default deployment adds
 * nothing: deployments that never set `name` keep the names, and the data, they had before.
 */
import { nodeCrypto } from './node-builtins.js';

/** The deployment name when the configuration sets none. */
export const DEFAULT_DEPLOYMENT = 'default';

/** What a store's names may hold, for {@link deploymentSegment}. */
export interface SegmentRules {
  /** One character a name may hold (tested per character), e.g. `/[a-z0-9_]/` for SQL identifiers. */
  allowed: RegExp;
  /** Longest segment returned. At least 16. */
  maxLength: number;
  /** The store folds case (SQL identifiers): only lower-case names are taken as they are. */
  lowerCaseOnly?: boolean;
}

/**
 * The deployment's part of a storage name: '' for the default deployment; the name itself where the store
 * can hold it as it is (and it has no "__"); otherwise a readable part of it, "__" and 8 hex digits of its
 * SHA-256 (`Billing.EU` → `billing_eu__6c0405f5` for SQL). Two different names never give the same segment:
 * a name taken as it is has no "__", every other segment has one and carries the whole name's hash.
 * `allowed` must accept `_`.
 */
export function deploymentSegment(deployment: string | undefined, rules: SegmentRules): string {
  if (deployment === undefined || deployment === DEFAULT_DEPLOYMENT) return '';
  const fits =
    deployment.length <= rules.maxLength &&
    !deployment.includes('__') &&
    (!rules.lowerCaseOnly || deployment === deployment.toLowerCase()) &&
    [...deployment].every((character) => rules.allowed.test(character));
  if (fits) return deployment;
  const hash = nodeCrypto().createHash('sha256').update(deployment).digest('hex').slice(0, 8);
  const folded = rules.lowerCaseOnly ? deployment.toLowerCase() : deployment;
  const readable = [...folded]
    .map((character) => (rules.allowed.test(character) ? character : '_'))
    .join('')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '')
    .slice(0, Math.max(rules.maxLength - hash.length - 2, 0));
  return `${readable.replace(/_$/, '')}__${hash}`;
}
