import pg from 'pg';
import { createOrmBroker } from '../../dist/index.js';
import { loadQuery } from '../../dist/queries.js';
import { TableNames } from '../../dist/table-names.js';
const schema = 'tasq_prof_' + process.pid;
const b = await createOrmBroker({ url: 'postgres://postgres@127.0.0.1/test', schema });
const c = new pg.Client('postgres://postgres@127.0.0.1/test');
await c.connect();
const q = 'p';
await b.enqueue(
  q,
  Array.from({ length: 3000 }, () => new Uint8Array(20)),
);
const query = loadQuery('postgres', 'reserve', new TableNames({ schema, prefix: '' }));
async function explain(label) {
  const values = { queue: q, now: Date.now(), max: 1, lease_ms: 60000, token: 'x' };
  await c.query('BEGIN');
  const { rows } = await c.query(
    'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ' + query.text,
    query.parameters.map((p) => values[p]),
  );
  await c.query('ROLLBACK');
  const text = rows.map((r) => r['QUERY PLAN']).join('\n');
  console.log(
    label,
    text
      .split('\n')
      .filter((l) => /priority_0|Execution|Buffers/.test(l))
      .slice(0, 4)
      .join(' / ')
      .replace(/\s+/g, ' '),
  );
  console.log(
    text
      .split('\n')
      .filter(
        (l) => /packages_9/.test(l) || /Index Scan using packages_claim_index on packages packages_9/.test(l),
      )
      .join('\n'),
  );
}
await explain('fresh');
for (let i = 0; i < 2000; i++) {
  const [d] = await b.reserve(q, { max: 1, leaseMs: 60000, waitMs: 0 });
  await b.ack(d);
}
await explain('after 2000 claimed+acked');
await new Promise((r) => setTimeout(r, 100));
await explain('again');
await b.close();
await c.query(`DROP SCHEMA ${schema} CASCADE`);
await c.end();
