import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

function capture(format?: 'json' | 'text', level: 'debug' | 'info' = 'info') {
  const lines: string[] = [];
  const logger = createLogger({ ...(format ? { format } : {}), level, write: (line) => lines.push(line) });
  return { logger, lines };
}

describe('the CLI logger', () => {
  it('writes one JSON object per line by default, with the level by name and an ISO time', () => {
    const { logger, lines } = capture();
    logger.event('task-succeeded', {
      id: 'j1',
      name: 'math.add',
      queue: 'default',
      deliveries: 1,
      runtimeMs: 4,
    });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      level: 'info',
      msg: 'task succeeded',
      id: 'j1',
      name: 'math.add',
      runtimeMs: 4,
    });
    expect(new Date(entry.time).toISOString()).toBe(entry.time);
  });

  it("keeps the cluster's pid and names a worker's pid workerPid, in JSON and in text", () => {
    const json = capture('json');
    json.logger.event('worker-offline', { workerId: 1, pid: 424242, code: 0, signal: null, expected: true });
    expect(json.lines[0]!.match(/"pid":/g)).toHaveLength(1);
    expect(JSON.parse(json.lines[0]!)).toMatchObject({ pid: process.pid, workerPid: 424242, workerId: 1 });
    const text = capture('text');
    text.logger.event('worker-offline', { workerId: 1, pid: 424242, code: 0, signal: null, expected: true });
    expect(text.lines[0]).toContain('workerPid=424242');
  });

  it('never writes secrets or task arguments', () => {
    const { logger, lines } = capture('json');
    logger.info({ secret: 'hunter2', args: [1, 'card 4111'], password: 'pw', queue: 'q' }, 'configured');
    logger.event('task-log', {
      workerId: 1,
      level: 'warn',
      fields: { args: ['private'] },
      message: 'from a task',
    });
    expect(lines.join('\n')).not.toMatch(/hunter2|4111|"pw"|private/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ secret: '[redacted]', args: '[redacted]', queue: 'q' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'warn', msg: 'from a task', args: '[redacted]' });
  });

  it('reads as one line of text with key=value fields, and skips events below the level', () => {
    const { logger, lines } = capture('text');
    logger.event('task-started', {
      id: 'j1',
      name: 'math.add',
      queue: 'default',
      deliveries: 1,
      workerId: 2,
    });
    logger.event('task-failed', {
      id: 'j2',
      name: 'math.add',
      queue: 'default',
      deliveries: 3,
      runtimeMs: 5,
      error: 'TypeError: no',
      final: true,
      action: 'dead-letter',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] ERROR \(math\.add\): task failed {2}id=j2 queue=default .*error="TypeError: no" final=true/,
    );
    const debug = capture('text', 'debug');
    debug.logger.event('task-started', {
      id: 'j1',
      name: 'math.add',
      queue: 'default',
      deliveries: 1,
      workerId: 2,
    });
    expect(debug.lines[0]).toMatch(/DEBUG \(math\.add\): task started {2}id=j1 queue=default/);
  });
});
