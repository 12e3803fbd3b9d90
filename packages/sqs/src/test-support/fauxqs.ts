/**
 * The SQS emulator for tests: fauxqs, started in this process on a free port and spoken to over HTTP
 * by the real @aws-sdk/client-sqs. One emulator per test file; queues are named per test.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { requireService } from '@tasq/testing';
import { startFauxqs } from 'fauxqs';
import { afterAll } from 'vitest';
import { SqsBroker } from '../sqs-broker.js';
import type { SqsBrokerOptions } from '../sqs-options.js';

export interface Emulator {
  /** "http://127.0.0.1:<port>" */
  endpoint: string;
  /** A broker on the emulator (createQueues on, test credentials), with `options` on top, for `deployment`. */
  broker(options?: SqsBrokerOptions, deployment?: string): SqsBroker;
  /** A plain SDK client on the emulator, to look at queues behind the broker's back. */
  client(): SQSClient;
}

/** Static test credentials: the emulator accepts any, and the SDK's default chain is not consulted. */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * Start the emulator for this test file and stop it after the file's tests. Resolves the emulator, or
 * a skip reason when it cannot start (under CI=true that is an error, as for every service).
 */
export async function startEmulator(): Promise<{ emulator?: Emulator; skipReason?: string }> {
  let server: Awaited<ReturnType<typeof startFauxqs>> | undefined;
  const skipReason = await requireService('fauxqs SQS emulator (in-process)', async () => {
    server = await startFauxqs({ port: 0, logger: false });
  });
  if (!server) return { skipReason: skipReason ?? 'fauxqs did not start' };
  const running = server;
  const clients: SQSClient[] = [];
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await running.stop();
  });
  const endpoint = running.address;
  return {
    emulator: {
      endpoint,
      broker: (options = {}, deployment) =>
        new SqsBroker(
          {
            endpoint,
            region: 'us-east-1',
            credentials: TEST_CREDENTIALS,
            createQueues: true,
            ...options,
          },
          deployment === undefined ? {} : { deployment },
        ),
      client: () => {
        const client = new SQSClient({ endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
        clients.push(client);
        return client;
      },
    },
  };
}

/** One SQS call as the client sent it. */
export interface RecordedCommand {
  name: string;
  input: Record<string, any>;
}

/**
 * Record every command a client sends, with its input, through the SDK's own middleware stack (the
 * requests still go to the emulator). For asserting how the broker talks to SQS: batches, delays, lookups.
 */
export function recordCommands(client: SQSClient): RecordedCommand[] {
  const recorded: RecordedCommand[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      recorded.push({ name: String(context.commandName), input: args.input as Record<string, any> });
      return next(args);
    },
    { step: 'initialize', name: 'tasqRecordCommands' },
  );
  return recorded;
}
