/**
 * Pause flags and cancel marks for a broker that has no place of its own to keep them. Every cluster,
 * including one started later, must read the same flags and marks; a broker such as RabbitMQ or SQS only
 * holds queues it cannot read without taking their messages, so it declares neither `pause` nor
 * `cancelMarks`. The deployment's result backend is a store every cluster and operator already shares, so
 * when it declares the `marks` capability the administration API and the cluster read and write the
 * flags and marks there, exactly as they would on the broker (the same method promises, the same broker
 * conformance cases).
 *
 * A broker that declares a capability itself always keeps it: the result backend only fills a gap.
 */
import {
  type BrokerAdministration,
  type BrokerAdministrationCapabilities,
  NO_BROKER_ADMINISTRATION,
} from './broker-administration.js';
import type { ResultAdministration } from './result-administration.js';

/** Where a deployment keeps its pause flags and cancel marks. */
export type MarksKeeper = 'broker' | 'results' | 'none';

/**
 * The broker's administration, with `pause` and `cancelMarks` taken from the result backend where the
 * broker declares them false and the backend declares `marks`. Returns `broker` itself when there is
 * nothing to add (the common case: no wrapper on brokers that keep their own marks).
 */
export function withResultMarks(
  broker: BrokerAdministration | undefined,
  results: ResultAdministration | undefined,
): BrokerAdministration | undefined {
  const own = broker?.capabilities ?? NO_BROKER_ADMINISTRATION;
  if (results?.capabilities.marks !== true || (own.pause && own.cancelMarks)) return broker;
  const capabilities: BrokerAdministrationCapabilities = Object.freeze({
    ...own,
    pause: true,
    cancelMarks: true,
  });
  const composed: BrokerAdministration = { capabilities };
  // Each method from the one that keeps its flag, bound so that class instances keep their `this`.
  const from = (keeper: BrokerAdministration | ResultAdministration | undefined, names: MethodName[]) => {
    for (const name of names) {
      const method = (keeper as Partial<Record<MethodName, unknown>> | undefined)?.[name];
      if (typeof method === 'function') Object.assign(composed, { [name]: method.bind(keeper) });
    }
  };
  from(broker, BROKER_METHODS);
  from(own.pause ? broker : results, PAUSE_METHODS);
  from(own.cancelMarks ? broker : results, CANCEL_MARK_METHODS);
  return composed;
}

/** Who keeps the pause flags and cancel marks of a broker and result backend pair. */
export function marksKeeper(
  broker: BrokerAdministration | undefined,
  results: ResultAdministration | undefined,
): MarksKeeper {
  if (broker?.capabilities.pause && broker.capabilities.cancelMarks) return 'broker';
  return results?.capabilities.marks === true ? 'results' : 'none';
}

type MethodName = Exclude<keyof BrokerAdministration, 'capabilities'>;

const PAUSE_METHODS: MethodName[] = ['setPaused', 'pausedQueues'];
const CANCEL_MARK_METHODS: MethodName[] = ['markCancelled', 'cancelMarks', 'clearCancelMarks'];
/** The methods that stay the broker's whatever keeps the marks. */
const BROKER_METHODS: MethodName[] = [
  'find',
  'list',
  'listDead',
  'requeueDead',
  'deleteDead',
  'purgeDead',
  'trimDead',
  'remove',
];
