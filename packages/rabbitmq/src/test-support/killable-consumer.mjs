// A consumer process for the kill test: reserves one package, reports it on stdout, then waits to be
// killed with SIGKILL (no close, no ack: what a crashed worker leaves behind).
// Usage: node --experimental-transform-types killable-consumer.mjs <json options> <queue>
import { register } from 'node:module';

// Source files import each other with `.js` specifiers (NodeNext); point those at the `.ts` sources.
register(
  `data:text/javascript,${encodeURIComponent(`
    import { existsSync } from 'node:fs';
    import { fileURLToPath } from 'node:url';
    export async function resolve(specifier, context, next) {
      if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.startsWith('file:')) {
        const url = new URL(specifier, context.parentURL);
        if (!existsSync(fileURLToPath(url))) return next(url.href.slice(0, -3) + '.ts', context);
      }
      return next(specifier, context);
    }`)}`,
);

const { RabbitMqBroker } = await import('../rabbitmq-broker.ts');
const [options, queue] = [JSON.parse(process.argv[2]), process.argv[3]];
const broker = await RabbitMqBroker.connect(options);
const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 60_000, waitMs: 10_000 });
process.stdout.write(`${JSON.stringify({ id: delivery?.id, deliveries: delivery?.deliveries })}\n`);
setInterval(() => undefined, 60_000);
