import {
  BROKER_SPECIFICATION_VERSION,
  ConfigError,
  isBrokerPlugin,
  ManualClock,
  silentLogger,
} from '@tasq/core/backend';
import { describe, expect, it } from 'vitest';
import plugin from './index.js';

const context = { deployment: 'test', clock: new ManualClock(), logger: silentLogger };

describe('the @tasq/mongo plugin', () => {
  it('is a broker plugin named mongo with a broker, result backend and schedule store', () => {
    expect(isBrokerPlugin(plugin)).toBe(true);
    expect(plugin.name).toBe('mongo');
    expect(plugin.specificationVersion).toBe(BROKER_SPECIFICATION_VERSION);
    expect(typeof plugin.createResultBackend).toBe('function');
    expect(typeof plugin.createScheduleStore).toBe('function');
  });

  it('refuses bad options with a ConfigError naming the key, before any connection attempt', async () => {
    const started = Date.now();
    for (const create of [plugin.createBroker, plugin.createResultBackend!, plugin.createScheduleStore!]) {
      const error = await Promise.resolve()
        .then(() => create({ url: 'mongodb://127.0.0.1:1', poll: -5 }, context))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual(['poll: must be a number of milliseconds >= 1 (got -5)']);
    }
    // No server-selection wait (30 s by default) was spent: nothing was sent.
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
