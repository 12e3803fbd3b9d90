/**
 * Jobs and Dead letters: their pages need the job-administration API of @tasq/core (job lists by state,
 * cancel, retry, requeue), which this version does not have. The page says so instead of showing an
 * empty table that would read as "no jobs".
 */
import { type Html, html } from '../html.js';

export function pendingPage(what: 'jobs' | 'dead letters', base: string): Html {
  const actions =
    what === 'jobs'
      ? 'listing jobs by queue, state and task, a job page with its timings, result or error, and cancel, retry and remove'
      : 'listing dead-lettered jobs with their reasons, requeue and delete';
  return html`<section class="notice" aria-labelledby="pending-title">
<h2 id="pending-title">Needs job administration</h2>
<p>This page shows ${what} once tasq's job-administration API is available: ${actions}. Until then the
dashboard shows nothing here rather than an empty table.</p>
<p>Counts by state are on the <a href="${base}/queues">Queues</a> page; <code>tasq info</code> lists recent failures.</p>
</section>`;
}
