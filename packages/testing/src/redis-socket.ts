/**
 * Redis for test set-up and clean-up, over a plain socket: the packages whose tests need it (cluster,
 * dashboard) have no Redis client of their own, and a test helper should not add one.
 */
import { createConnection } from 'node:net';

/** One Redis command; resolves with the raw reply, rejects on an error reply or no answer within 3 s. */
export function redisCommand(url: string, args: readonly string[]): Promise<string> {
  const { hostname, port } = new URL(url);
  const request = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(3_000, () => socket.destroy(new Error('no answer within 3 s')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(request));
    socket.once('data', (data) => {
      socket.end();
      const answer = data.toString();
      if (answer.startsWith('-')) reject(new Error(answer.trim()));
      else resolve(answer);
    });
  });
}

/** Delete a test's keys (and only them): everything under its own prefix. */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const script = `local n = 0
for _, key in ipairs(redis.call('KEYS', ARGV[1] .. ':*')) do redis.call('DEL', key); n = n + 1 end
return n`;
  await redisCommand(url, ['EVAL', script, '0', prefix]);
}
