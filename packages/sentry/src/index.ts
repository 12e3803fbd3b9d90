/**
 * `@tasq/sentry`: every failed task attempt becomes a Sentry event.
 *
 * ```ts
 * errorReporter: { module: '@tasq/sentry', options: { dsn: process.env.SENTRY_DSN } }
 * ```
 */
import { defineErrorReporter } from '@tasq/core';
import { resolveSentryReporterOptions, type SentryReporterOptions } from './sentry-options.js';
import { SentryReporter } from './sentry-reporter.js';

export { buildFailureEvent, type SentryEventSettings, type StackParser } from './sentry-event.js';
export {
  type ResolvedSentryReporterOptions,
  resolveSentryReporterOptions,
  type SentryReporterOptions,
} from './sentry-options.js';
export { SentryReporter } from './sentry-reporter.js';

/** The reporter factory the cluster loads from `errorReporter.module`. */
export default defineErrorReporter<SentryReporterOptions & Record<string, unknown>>({
  create(options, context) {
    return new SentryReporter(resolveSentryReporterOptions(options), context);
  },
  wantsArgs(options) {
    return options?.sendArgs === true;
  },
});
