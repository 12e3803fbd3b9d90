/**
 * `tasq dashboard` as an operator runs it: it refuses to start open, serves the dashboard with a
 * password from the environment, stops on SIGTERM; and what is done in it shows in `tasq events`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Client, eventually, testDeployment } from './support.js';

const cliPath = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@tasq/cluster/package.json')),
  'bin',
  'tasq.js',
);
// The package folder: `tasq dashboard` finds @tasq/dashboard from here, as from an application that installed it.
const cwd = fileURLToPath(new URL('..', import.meta.url));

describe('tasq dashboard', () => {
  const deployment = testDeployment();
  const configFile = path.join(deployment.folder, 'tasq.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      name: deployment.config.name,
      sqlite: path.join(deployment.folder, 'tasq.db'),
      queue: deployment.queue,
      secret: 'dashboard-test-secret',
    }),
  );
  const children: ChildProcess[] = [];
  const env = (extra: Record<string, string>) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TASQ_')));
    return { ...clean, ...extra };
  };

  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    deployment.cleanup();
  });

  function start(
    args: string[],
    extraEnv: Record<string, string>,
  ): { child: ChildProcess; output: () => string } {
    const child = spawn(process.execPath, [cliPath, ...args, '--config', configFile], {
      cwd,
      env: env(extraEnv),
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    return { child, output: () => output };
  }

  it('refuses to start without a password, and without sign-in off loopback', () => {
    const open = spawnSync(process.execPath, [cliPath, 'dashboard', '--port', '0', '--config', configFile], {
      cwd,
      env: env({}),
      encoding: 'utf8',
    });
    expect(open.status).not.toBe(0);
    expect(open.stderr).toMatch(/^tasq: the dashboard has no password: set dashboard.password/m);
    const exposed = spawnSync(
      process.execPath,
      [cliPath, 'dashboard', '--no-auth', '--host', '0.0.0.0', '--port', '0', '--config', configFile],
      { cwd, env: env({}), encoding: 'utf8' },
    );
    expect(exposed.status).not.toBe(0);
    expect(exposed.stderr).toContain('--no-auth is allowed only on a loopback address');
    const badPort = spawnSync(
      process.execPath,
      [cliPath, 'dashboard', '--port', 'http', '--config', configFile],
      {
        cwd,
        env: env({}),
        encoding: 'utf8',
      },
    );
    expect(badPort.status).toBe(2);
    expect(badPort.stderr).toContain('--port must be a positive integer, got "http"');
  });

  it('serves the dashboard with TASQ_DASHBOARD_PASSWORD, records sign-ins for tasq events, stops on SIGTERM', async () => {
    const password = 'a-long-operator-password';
    const events = start(['events', '--json', '--types', 'dashboard-action'], {});
    const dashboard = start(['dashboard', '--port', '0'], { TASQ_DASHBOARD_PASSWORD: password });
    const url = await eventually(
      () => /tasq dashboard: (http:\S+)/.exec(dashboard.output())?.[1],
      60_000,
      'the URL',
    );
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const client = new Client(url);
    expect((await client.request('GET', '/')).status).toBe(303);
    // `tasq events` subscribes in the background: sign in until its line shows up.
    const line = await eventually(
      async () => {
        await client.login(password);
        return events
          .output()
          .split('\n')
          .find((l) => l.includes('"dashboard-action"'));
      },
      60_000,
      'the sign-in event',
    );
    const event = JSON.parse(line);
    expect(event).toMatchObject({
      type: 'dashboard-action',
      action: 'login',
      outcome: 'ok',
      role: 'operator',
      address: '127.0.0.1',
    });
    expect(event.cluster).toMatch(/^dashboard@/);
    expect((await client.request('GET', '/queues')).status).toBe(200);
    // The dashboard prints its audit trail too.
    const printed = dashboard
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(printed[0]).toMatchObject({ type: 'dashboard-action', action: 'login', outcome: 'ok' });
    dashboard.child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) =>
      dashboard.child.once('exit', (c) => resolve(c)),
    );
    expect(code).toBe(0);
    events.child.kill('SIGTERM');
  });
});
