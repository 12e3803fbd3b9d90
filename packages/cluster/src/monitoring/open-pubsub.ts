/**
 * The deployment's pub/sub, opened from the broker package the configuration names (its plugin's
 * `createPubSub`), on a connection of its own so events and control never queue behind broker calls.
 */
import { type Logger, type ResolvedConfig, silentLogger } from '@tasq/core';
import { pluginContext, type PubSub } from '@tasq/core/backend';
import { loadBrokerPlugin } from '@tasq/core/internal';

/** The pub/sub of the configured broker package, or undefined when it has none (SQS, MongoDB). */
export async function openPubSub(
  config: ResolvedConfig,
  options: { cwd?: string; logger?: Logger } = {},
): Promise<PubSub | undefined> {
  const plugin = await loadBrokerPlugin(config.broker.module, options.cwd);
  if (!plugin.createPubSub) return undefined;
  return plugin.createPubSub(
    config.broker.options,
    pluginContext(config.name, options.logger ?? silentLogger),
  );
}
