import pg from 'pg';
import { createOrmBroker } from '../../dist/index.js';
const schema = 'tasq_prof_' + process.pid;
const b = await createOrmBroker({ url: 'postgres://postgres@127.0.0.1/test', schema });
for (let round = 0; round < 3; round++) {
  const q = 'p' + round;
  for (let i = 0; i < 3000; i++) await b.enqueue(q, [new Uint8Array(20)]);
  let t = performance.now();
  for (let i = 0; i < 3000; i++) {
    const [d] = await b.reserve(q, { max: 1, leaseMs: 60000, waitMs: 1000 });
    await b.ack(d);
    if (i % 1000 === 999) {
      console.log(round, i + 1, ((performance.now() - t) / 1000).toFixed(3), 'ms/op');
      t = performance.now();
    }
  }
}
await b.close();
const c = new pg.Client('postgres://postgres@127.0.0.1/test');
await c.connect();
await c.query(`DROP SCHEMA ${schema} CASCADE`);
await c.end();
