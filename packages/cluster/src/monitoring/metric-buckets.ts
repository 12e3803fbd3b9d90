/**
 * The histogram buckets of the cluster's Prometheus metrics, apart from metrics.ts so that importing
 * them (the package's index exports DURATION_BUCKETS) does not load prom-client: a cluster started
 * without `metrics` never loads it (see start-cluster.ts).
 */

/** Task run time buckets, in seconds: from a 5 ms no-op to a five-minute report. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Wait time buckets, in seconds (due → started): from a job picked at once to one that waited an hour. */
export const WAIT_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];
