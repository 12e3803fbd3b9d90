/** Schedules: next and last run; pause/resume, run now, remove; and a form to add one. */
import type { ScheduleRecord } from '@tasq/core';
import { SCHEDULE_KINDS } from '@tasq/core';
import { type Html, html } from '../html.js';
import { formatTime } from './format.js';
import { actionForm, type PageContext } from './layout.js';

function rule(s: ScheduleRecord): string {
  return s.kind === 'cron' ? `cron ${s.cron}` : s.kind === 'minutes' ? `every ${s.minutes} min` : s.kind;
}

export function schedulesBody(context: PageContext, schedules: ScheduleRecord[], defaultZone: string): Html {
  const operator = context.session.role === 'operator';
  const table =
    schedules.length === 0
      ? html`<p class="note">No schedules.</p>`
      : html`<table>
<thead><tr><th scope="col">Name</th><th scope="col">Task</th><th scope="col">Rule</th><th scope="col">Zone</th><th scope="col">Next run</th><th scope="col">Last run</th><th scope="col">Runs left</th><th scope="col">State</th>${
          operator ? html`<th scope="col">Actions</th>` : ''
        }</tr></thead>
<tbody>${schedules.map((s) => {
          const path = `/schedules/${encodeURIComponent(s.name)}`;
          return html`<tr data-schedule="${s.name}"><th scope="row">${s.name}</th><td>${s.task}</td><td>${rule(s)}</td><td>${s.timeZone ?? defaultZone}</td>
<td>${s.repeats === 0 ? 'finished' : formatTime(s.nextRunAt)}</td><td>${formatTime(s.lastRunAt)}</td>
<td>${s.repeats === -1 ? 'forever' : s.repeats}</td><td>${s.paused ? 'paused' : 'active'}</td>${
            operator
              ? html`<td class="actions">${actionForm(
                  context,
                  `${path}/${s.paused ? 'resume' : 'pause'}`,
                  s.paused ? 'Resume' : 'Pause',
                  {
                    accessibleLabel: `${s.paused ? 'Resume' : 'Pause'} schedule ${s.name}`,
                  },
                )}${actionForm(context, `${path}/run-now`, 'Run now', { accessibleLabel: `Run schedule ${s.name} now` })}${actionForm(
                  context,
                  `${path}/remove`,
                  'Remove',
                  { danger: true, accessibleLabel: `Remove schedule ${s.name}` },
                )}</td>`
              : ''
          }</tr>`;
        })}</tbody></table>`;
  return html`${table}${operator ? addForm(context) : ''}`;
}

function addForm(context: PageContext): Html {
  return html`<section aria-labelledby="add-title">
<h2 id="add-title">Add a schedule</h2>
<form method="post" action="${context.base}/schedules" class="stacked">
<input type="hidden" name="_csrf" value="${context.session.csrf}">
<label>Name <input name="name" required pattern="[A-Za-z0-9_.:\\-]{1,128}"></label>
<label>Task <input name="task" required></label>
<label>Arguments (JSON array) <input name="args" placeholder="[]"></label>
<label>Cron expression <input name="cron" placeholder="0 8 * * mon"></label>
<label>or kind <select name="kind"><option value="">(cron)</option>${SCHEDULE_KINDS.filter(
    (k) => k !== 'cron',
  ).map((k) => html`<option>${k}</option>`)}</select></label>
<label>Minutes (kind minutes) <input name="minutes" inputmode="numeric"></label>
<label>Time zone <input name="timeZone" placeholder="UTC"></label>
<label>Queue <input name="queue"></label>
<label class="check"><input type="checkbox" name="paused"> Create paused</label>
<button type="submit">Add schedule</button>
</form>
</section>`;
}
