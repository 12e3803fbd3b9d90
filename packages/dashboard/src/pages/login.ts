/** The sign-in page: one password field; the password says which role it opens. */
import { type Html, html } from '../html.js';

export function loginPage(base: string, deploymentName: string, message?: string): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · tasq ${deploymentName}</title>
<link rel="stylesheet" href="${base}/static/dashboard.css">
</head>
<body class="login">
<main id="main">
<h1>tasq <span class="deployment">${deploymentName}</span></h1>
<form method="post" action="${base}/login" class="login-form">
  ${message ? html`<p class="flash error" role="alert">${message}</p>` : ''}
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Sign in</button>
</form>
</main>
</body>
</html>`;
}
