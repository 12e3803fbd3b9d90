// A consumer process for the multi-process claim test. Opens the orm broker from the built package,
// says "ready" over IPC, waits for "go", then reserves (batch 50) and acks until the queue stays empty
// for a second, and reports every package id it acked together with its delivery count.
import { createOrmBroker } from '../../dist/index.js';

const [url, schema, queue] = process.argv.slice(2);
const broker = await createOrmBroker(schema ? { url, schema } : { url });
const acked = [];

process.send({ type: 'ready' });
await new Promise((resolve) => process.once('message', resolve));

for (;;) {
  const batch = await broker.reserve(queue, { max: 50, leaseMs: 120_000, waitMs: 1_000 });
  if (batch.length === 0) break;
  for (const delivery of batch) {
    await broker.ack(delivery);
    acked.push([delivery.id, delivery.deliveries, new TextDecoder().decode(delivery.body)]);
  }
}
await broker.close();
process.send({ type: 'done', acked }, () => process.exit(0));
