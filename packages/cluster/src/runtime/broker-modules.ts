/**
 * Broker packages are resolved from the application's folder. With pnpm (no hoisting) an application
 * that depends only on @tasq/cluster cannot see @tasq/orm, the embedded default that the cluster itself
 * depends on; so a package name the application cannot resolve is looked up from here as well.
 */
import type { ResolvedConfig } from '@tasq/core';
import { importFromApplication } from '@tasq/core/internal';
import { fileURLToPath } from 'node:url';

async function locate(specifier: string, cwd: string): Promise<string> {
  const [modulePath, exportName] = specifier.split('#') as [string, string | undefined];
  if (modulePath === 'memory' || modulePath.startsWith('.') || modulePath.startsWith('/')) return specifier;
  try {
    await importFromApplication(modulePath, cwd);
    return specifier;
  } catch (error) {
    let resolved: string;
    try {
      resolved = fileURLToPath(import.meta.resolve(modulePath));
    } catch {
      throw error;
    }
    return exportName ? `${resolved}#${exportName}` : resolved;
  }
}

/** The configuration with broker and result backend modules the runtime can import from `cwd`. */
export async function withResolvableModules(config: ResolvedConfig, cwd: string): Promise<ResolvedConfig> {
  const brokerModule = await locate(config.broker.module, cwd);
  const backendModule = config.resultBackend ? await locate(config.resultBackend.module, cwd) : undefined;
  if (brokerModule === config.broker.module && backendModule === config.resultBackend?.module) return config;
  return {
    ...config,
    broker: { ...config.broker, module: brokerModule },
    ...(config.resultBackend && backendModule
      ? { resultBackend: { ...config.resultBackend, module: backendModule } }
      : {}),
  };
}
