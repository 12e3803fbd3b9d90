import { defineErrorReporter } from '@tasq/core';

export default defineErrorReporter<{ url: string; sendArgs?: boolean }>({
  create({ url }, { logger }) {
    if (!URL.canParse(url)) throw new Error('errorReporter.options.url must be a URL');
    const pending = new Set<Promise<unknown>>();
    return {
      name: 'webhook',
      report(failure) {
        const headers = { 'content-type': 'application/json' };
        const sent: Promise<unknown> = fetch(url, { method: 'POST', headers, body: JSON.stringify(failure) })
          .then((response) => response.ok || logger.warn({ status: response.status }, 'webhook refused'))
          .catch((error: unknown) => logger.warn({ err: error }, 'webhook unreachable'))
          .finally(() => pending.delete(sent));
        pending.add(sent);
      },
      async flush(timeoutMs) {
        const deadline = new Promise((resolve) => setTimeout(resolve, timeoutMs).unref());
        await Promise.race([Promise.allSettled(pending), deadline]);
      },
    };
  },
});
