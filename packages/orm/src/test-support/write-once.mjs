// Writes once to a tasq database from a separate process, then exits:
//   node write-once.mjs <url> package <queue> <text>   enqueue one package
//   node write-once.mjs <url> result <job id> <text>    save one successful result
//   node write-once.mjs <url> message <channel> <text>  publish one pub/sub message
import { createOrmBroker, createOrmPubSub, createOrmResultBackend } from '../../dist/index.js';

const [url, kind, key, text] = process.argv.slice(2);
if (kind === 'package') {
  const broker = await createOrmBroker({ url });
  await broker.enqueue(key, [new TextEncoder().encode(text)]);
  await broker.close();
} else if (kind === 'message') {
  const pubsub = await createOrmPubSub({ url });
  await pubsub.publish(key, new TextEncoder().encode(text));
  await pubsub.close();
} else {
  const backend = await createOrmResultBackend({ url });
  const now = Date.now();
  await backend.save({
    id: key,
    name: 'cross.process',
    queue: 'default',
    status: 'success',
    result: text,
    attempts: 1,
    enqueuedAt: now,
    startedAt: now,
    stoppedAt: now,
  });
  await backend.close();
}
