/** A page for an error answer (unknown page, bad input), saying what was wrong and where to go. */
import { type Html, html } from '../html.js';

export function errorBody(status: number, message: string, base: string): Html {
  return html`<section class="notice" aria-labelledby="error-title">
<h2 id="error-title">${status === 404 ? 'Not found' : 'Cannot do that'}</h2>
<p class="flash error" role="alert">${message}</p>
<p><a href="${base}/">Back to the overview</a></p>
</section>`;
}
