/**
 * Jobs and Dead letters: their pages are not built on @tasq/core's job-administration API yet. The page
 * says so, and names the CLI commands that do the same today, instead of showing an empty table that would
 * read as "no jobs".
 */
import { type Html, html } from '../html.js';

export function pendingPage(what: 'jobs' | 'dead letters', base: string): Html {
  const actions =
    what === 'jobs'
      ? 'listing jobs by queue, state and task, a job page with its timings, result or error, and cancel, retry and remove'
      : 'listing dead-lettered jobs with their reasons, requeue and delete';
  const commands =
    what === 'jobs'
      ? html`<code>tasq jobs --queue Q --state S</code> and <code>tasq job show|cancel|retry|remove ID</code>`
      : html`<code>tasq dead list</code>, <code>tasq dead requeue ID…|--all</code> and <code>tasq dead purge</code>`;
  return html`<section class="notice" aria-labelledby="pending-title">
<h2 id="pending-title">Needs job administration</h2>
<p>This page is not built yet; it will show ${what}: ${actions}. Until then the dashboard shows nothing
here rather than an empty table. The same is done today with ${commands}.</p>
<p>Counts by state are on the <a href="${base}/queues">Queues</a> page; <code>tasq info</code> lists recent failures.</p>
</section>`;
}
