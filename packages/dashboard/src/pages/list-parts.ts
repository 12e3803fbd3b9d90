/** What the Jobs and Dead letters lists share: the filter form (a GET form: the URL is the view) and the pager. */
import { type Html, html } from '../html.js';
import { LISTABLE_STATES, type ListQuery, pagerLinks } from '../jobs/list-query.js';

export function filterForm(
  base: string,
  path: string,
  query: ListQuery,
  queues: readonly string[],
  withState: boolean,
): Html {
  const names = queues.includes(query.queue) ? queues : [query.queue, ...queues];
  return html`<form method="get" action="${base}${path}" class="filters" role="search" aria-label="Filter the list">
<label>Queue <select name="queue">${names.map(
    (queue) => html`<option${queue === query.queue ? html` selected` : ''}>${queue}</option>`,
  )}</select></label>
${
  withState
    ? html`<label>State <select name="state"><option value="">waiting and running</option>${LISTABLE_STATES.map(
        (state) => html`<option${state === query.state ? html` selected` : ''}>${state}</option>`,
      )}</select></label>`
    : ''
}
<label>Task <input name="task" value="${query.task ?? ''}" placeholder="any task" autocomplete="off"></label>
<button type="submit">Show</button>
</form>`;
}

export function pager(base: string, path: string, query: ListQuery, next: string | undefined): Html {
  const links = pagerLinks(query, next);
  if (!links.next && !links.previous) return html``;
  return html`<nav class="pager" aria-label="Pages of the list">${
    links.previous
      ? html`<a href="${base}${path}${links.previous}" rel="prev">← Previous page</a>`
      : html`<span class="muted">First page</span>`
  }${links.next ? html`<a href="${base}${path}${links.next}" rel="next">Next page →</a>` : ''}</nav>`;
}
