/** The frame of every signed-in page: navigation, who is signed in, sign-out, the last action's message. */
import type { Session } from '../auth/sessions.js';
import { type Html, html } from '../html.js';

export interface PageContext {
  /** Where the dashboard is mounted ('' at the root). */
  base: string;
  session: Session;
  /** Sign-in is switched off (--no-auth). */
  noAuth: boolean;
  deploymentName: string;
}

export const NAVIGATION = [
  { path: '/', label: 'Overview' },
  { path: '/queues', label: 'Queues' },
  { path: '/jobs', label: 'Jobs' },
  { path: '/dead-letters', label: 'Dead letters' },
  { path: '/schedules', label: 'Schedules' },
  { path: '/clusters', label: 'Clusters' },
] as const;

export function layout(context: PageContext, current: string, title: string, body: Html): Html {
  const { base, session } = context;
  const flash = session.flash;
  session.flash = undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · tasq ${context.deploymentName}</title>
<link rel="stylesheet" href="${base}/static/uPlot.min.css">
<link rel="stylesheet" href="${base}/static/dashboard.css">
<script src="${base}/static/uPlot.min.js" defer></script>
<script src="${base}/static/dashboard.js" defer></script>
</head>
<body data-base="${base}" data-csrf="${session.csrf}" data-role="${session.role}">
<a class="skip" href="#main">Skip to content</a>
<header>
  <span class="brand">tasq <span class="deployment">${context.deploymentName}</span></span>
  <nav aria-label="Dashboard">
    <ul>${NAVIGATION.map(
      (item) =>
        html`<li><a href="${base}${item.path}"${current === item.path ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
    )}</ul>
  </nav>
  <span class="who">${context.noAuth ? 'no sign-in (loopback)' : `signed in as ${session.role}`}</span>
  ${
    context.noAuth
      ? ''
      : html`<form method="post" action="${base}/logout" class="inline">
    <input type="hidden" name="_csrf" value="${session.csrf}">
    <button type="submit">Sign out</button>
  </form>`
  }
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${flash ? html`<p class="flash ${flash.kind}" role="${flash.kind === 'error' ? 'alert' : 'status'}">${flash.text}</p>` : ''}
${body}
</main>
</body>
</html>`;
}

/** A form that posts one action, with the session's CSRF token. */
export function actionForm(
  context: PageContext,
  path: string,
  label: string,
  options: { fields?: Html; accessibleLabel?: string; danger?: boolean } = {},
): Html {
  if (context.session.role !== 'operator') return html``;
  return html`<form method="post" action="${context.base}${path}" class="inline">
<input type="hidden" name="_csrf" value="${context.session.csrf}">${options.fields ?? ''}
<button type="submit"${options.danger ? html` class="danger"` : ''}${
    options.accessibleLabel ? html` aria-label="${options.accessibleLabel}"` : ''
  }>${label}</button>
</form>`;
}
