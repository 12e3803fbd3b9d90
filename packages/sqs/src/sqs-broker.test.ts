/**
 * What the SQS broker does beyond the shared contract: FIFO order and deduplication, batch chunking by
 * count and by size, the package size limit, delay limits, queue names and creation, dead-letter
 * attributes, and how service errors reach the caller. Against fauxqs over HTTP with the real SDK.
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  BrokerClient,
  BrokerConnectionError,
  BrokerError,
  CapabilityError,
  type Delivery,
  InvalidArgumentError,
  isBrokerPlugin,
  LeaseLostError,
  type Logger,
  PackageTooLargeError,
  pluginContext,
} from '@tasq/core/backend';
import { freePort, readText, reserveUntil, text, uniqueName } from '@tasq/testing';
import { afterEach, describe, expect, it } from 'vitest';
import plugin from './index.js';
import { SqsBroker } from './sqs-broker.js';
import { SqsCredentialsError } from './sqs-errors.js';
import type { SqsBrokerOptions } from './sqs-options.js';
import { recordCommands, startEmulator, TEST_CREDENTIALS } from './test-support/fauxqs.js';

const { emulator, skipReason } = await startEmulator();

describe.skipIf(skipReason !== undefined)(
  `sqs broker on fauxqs${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    const brokers: SqsBroker[] = [];
    afterEach(async () => {
      for (const broker of brokers.splice(0)) await broker.close();
    });

    function broker(options: SqsBrokerOptions = {}): SqsBroker {
      const created = emulator!.broker(options);
      brokers.push(created);
      return created;
    }

    /** A broker on its own client, with every command it sends recorded. */
    function recordedBroker(options: SqsBrokerOptions = {}, deployment?: string) {
      const client = emulator!.client();
      const commands = recordCommands(client);
      const created = new SqsBroker({ client, createQueues: true, ...options }, { deployment });
      brokers.push(created);
      return { broker: created, commands, client };
    }

    async function queueAttributes(client: SQSClient, name: string): Promise<Record<string, string>> {
      const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: name }));
      const { Attributes } = await client.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
      );
      return Attributes ?? {};
    }

    /** Reserve and ack until the queue stays empty for half a second; the bodies in the order received. */
    async function drain(target: SqsBroker, queue: string): Promise<string[]> {
      const bodies: string[] = [];
      for (;;) {
        const batch = await target.reserve(queue, { max: 10, leaseMs: 30_000, waitMs: 500 });
        if (batch.length === 0) return bodies;
        for (const delivery of batch) {
          bodies.push(readText(delivery.body));
          await target.ack(delivery);
        }
      }
    }

    describe('configuration', () => {
      it('the plugin builds a working broker from the connection URL the `sqs` shorthand passes', async () => {
        expect(isBrokerPlugin(plugin)).toBe(true);
        expect(plugin.name).toBe('sqs');
        const url = `sqs://test:test@us-east-1?endpoint=${encodeURIComponent(emulator!.endpoint)}&createQueues=true`;
        const created = await plugin.createBroker({ url }, pluginContext('test'));
        brokers.push(created as SqsBroker);
        const queue = uniqueName('from-url');
        await created.enqueue(queue, [text('configured')]);
        const [delivery] = await reserveUntil(created, queue, 1);
        expect(readText(delivery!.body)).toBe('configured');
        await created.ack(delivery!);
        expect(plugin.createResultBackend).toBeUndefined();
        const fromString = await plugin.createBroker(url, pluginContext('test'));
        brokers.push(fromString as SqsBroker);
        expect((await fromString.size(queue)).ready).toBe(0);
      });

      it('an endpoint URL with options beside it: the options win', async () => {
        const created = new SqsBroker({
          url: `${emulator!.endpoint}?region=us-east-1&maxPackageBytes=1048576`,
          credentials: TEST_CREDENTIALS,
          createQueues: true,
          maxPackageBytes: 262_144,
        });
        brokers.push(created);
        expect(created.capabilities.maxPackageBytes).toBe(195_840);
        const queue = uniqueName('endpoint-url');
        await created.enqueue(queue, [text('x')]);
        expect((await created.size(queue)).ready).toBe(1);
      });
    });

    describe('FIFO queues', () => {
      it('keep enqueue order in one message group, on an SQS queue named <name>.fifo', async () => {
        const fifo = broker({ fifo: true });
        expect(fifo.capabilities.fifo).toBe(true);
        const queue = uniqueName('fifo-order');
        const sent: string[] = [];
        for (let i = 0; i < 8; i++) {
          sent.push(`m${i}`);
          await fifo.enqueue(queue, [text(`m${i}`)]);
        }
        const batch = Array.from({ length: 14 }, (_, i) => `b${i}`);
        await fifo.enqueue(queue, batch.map(text));
        sent.push(...batch);
        const got: string[] = [];
        while (got.length < sent.length) {
          const deliveries = await fifo.reserve(queue, { max: 10, leaseMs: 30_000, waitMs: 1000 });
          expect(deliveries.length).toBeGreaterThan(0);
          for (const delivery of deliveries) {
            got.push(readText(delivery.body));
            await fifo.ack(delivery);
          }
        }
        expect(got).toEqual(sent);
        const attributes = await queueAttributes(emulator!.client(), `${queue}.fifo`);
        expect(attributes.FifoQueue).toBe('true');
      });

      it('store a package once when the SDK sends the same request twice (deduplication id = package id)', async () => {
        const client = emulator!.client();
        // A retry after a lost response, as the SDK makes it: the same request, sent again.
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'SendMessageBatchCommand') await next(args);
            return next(args);
          },
          { step: 'finalizeRequest', name: 'sendBatchTwice' },
        );
        const fifo = new SqsBroker({ client, createQueues: true, fifo: true });
        const standard = new SqsBroker({ client, createQueues: true });
        brokers.push(fifo, standard);
        const fifoQueue = uniqueName('fifo-dedup');
        const standardQueue = uniqueName('standard-dedup');
        // Two identical bodies are two packages: deduplication is by package, not by content.
        await fifo.enqueue(fifoQueue, [text('same'), text('same'), text('other')]);
        await standard.enqueue(standardQueue, [text('same'), text('same'), text('other')]);
        expect((await drain(fifo, fifoQueue)).sort()).toEqual(['other', 'same', 'same']);
        // Without deduplication ids, a standard queue stores the repeated request twice.
        expect((await drain(standard, standardQueue)).length).toBe(6);
      });

      it('put packages in the group the option names, or the group a function picks', async () => {
        const plain = emulator!.client();
        const fixed = broker({ fifo: true, messageGroupId: 'reports' });
        const spread = broker({
          fifo: true,
          messageGroupId: (body) => `user-${readText(body).split(':')[0]}`,
        });
        expect(spread.capabilities.fifo).toBe(false);
        const fixedQueue = uniqueName('fifo-group');
        const spreadQueue = uniqueName('fifo-groups');
        await fixed.enqueue(fixedQueue, [text('a')]);
        await spread.enqueue(spreadQueue, [text('7:x'), text('9:y')]);
        const groupsOf = async (queue: string) => {
          const { QueueUrl } = await plain.send(new GetQueueUrlCommand({ QueueName: `${queue}.fifo` }));
          const { Messages } = await plain.send(
            new ReceiveMessageCommand({
              QueueUrl,
              MaxNumberOfMessages: 10,
              MessageSystemAttributeNames: ['MessageGroupId'],
            }),
          );
          return (Messages ?? []).map((message) => message.Attributes?.MessageGroupId).sort();
        };
        expect(await groupsOf(fixedQueue)).toEqual(['reports']);
        expect(await groupsOf(spreadQueue)).toEqual(['user-7', 'user-9']);
      });

      it('have no per-message delays: the capability says 0 and a delayed enqueue is refused', async () => {
        const fifo = broker({ fifo: true });
        expect(fifo.capabilities.delay.maxMs).toBe(0);
        const queue = uniqueName('fifo-delay');
        await expect(fifo.enqueue(queue, [text('later')], { delayMs: 1000 })).rejects.toThrow(
          CapabilityError,
        );
        await expect(fifo.enqueue(queue, [text('later')], { delayMs: 1000 })).rejects.toThrow(
          /FIFO queues have no per-message delays/,
        );
      });

      it('dead-letter into <name>-dead.fifo', async () => {
        const fifo = broker({ fifo: true });
        const queue = uniqueName('fifo-dead');
        await fifo.enqueue(queue, [text('poison')]);
        const [delivery] = await reserveUntil(fifo, queue, 1);
        await fifo.deadLetter(delivery!, 'unknown task');
        expect(await fifo.size(queue)).toMatchObject({ ready: 0, reserved: 0, dead: 1 });
        const attributes = await queueAttributes(emulator!.client(), `${queue}-dead.fifo`);
        expect(attributes.FifoQueue).toBe('true');
      });
    });

    describe('batches', () => {
      it('send at most 10 packages per SendMessageBatch', async () => {
        const { broker: recorded, commands } = recordedBroker();
        const queue = uniqueName('batch-count');
        const ids = await recorded.enqueue(
          queue,
          Array.from({ length: 25 }, (_, i) => text(`p${i}`)),
        );
        expect(ids).toHaveLength(25);
        const batches = commands.filter((command) => command.name === 'SendMessageBatchCommand');
        expect(batches.map((command) => command.input.Entries.length).sort()).toEqual([10, 10, 5]);
        expect((await drain(recorded, queue)).sort()).toEqual(
          Array.from({ length: 25 }, (_, i) => `p${i}`).sort(),
        );
      });

      it('split batches by total size: SQS applies the message limit to a whole batch', async () => {
        const { broker: recorded, commands } = recordedBroker();
        const queue = uniqueName('batch-size');
        // 300,000 bytes travel as 400,000 base64 characters: two fit in 1 MiB, three do not.
        const bodies = Array.from({ length: 5 }, (_, i) => new Uint8Array(300_000).fill(i + 1));
        const ids = await recorded.enqueue(queue, bodies);
        expect(new Set(ids).size).toBe(5);
        const batches = commands.filter((command) => command.name === 'SendMessageBatchCommand');
        expect(batches.map((command) => command.input.Entries.length)).toEqual([2, 2, 1]);
        for (const batch of batches) {
          const total = batch.input.Entries.reduce(
            (sum: number, entry: any) => sum + entry.MessageBody.length,
            0,
          );
          expect(total).toBeLessThanOrEqual(1_048_576);
        }
        const got = await reserveUntil(recorded, queue, 5);
        expect(got.map((delivery) => delivery.body[0]).sort()).toEqual([1, 2, 3, 4, 5]);
        expect(got.every((delivery) => delivery.body.byteLength === 300_000)).toBe(true);
      });

      it('split batches by the configured limit on a 256 KiB queue, and return ids in body order', async () => {
        const { broker: recorded, commands } = recordedBroker({ maxPackageBytes: 262_144 });
        const queue = uniqueName('batch-small');
        // 60,000 bytes → 80,000 characters: three per 256 KiB batch.
        const bodies = Array.from({ length: 7 }, (_, i) => new Uint8Array(60_000).fill(i + 10));
        const ids = await recorded.enqueue(queue, bodies);
        const batches = commands.filter((command) => command.name === 'SendMessageBatchCommand');
        expect(batches.map((command) => command.input.Entries.length)).toEqual([3, 3, 1]);
        const got = await reserveUntil(recorded, queue, 7);
        for (const delivery of got) expect(ids.indexOf(delivery.id)).toBe(delivery.body[0]! - 10);
      });

      it('acks settled in the same moment travel as one DeleteMessageBatch', async () => {
        const { broker: recorded, commands } = recordedBroker();
        const queue = uniqueName('ack-batch');
        await recorded.enqueue(
          queue,
          Array.from({ length: 10 }, (_, i) => text(`a${i}`)),
        );
        const got = await reserveUntil(recorded, queue, 10);
        expect(got).toHaveLength(10);
        await Promise.all(got.map((delivery) => recorded.ack(delivery)));
        const deletes = commands.filter((command) => command.name === 'DeleteMessageBatchCommand');
        expect(deletes.map((command) => command.input.Entries.length)).toEqual([10]);
        expect(await recorded.size(queue)).toMatchObject({ ready: 0, reserved: 0 });
      });
    });

    describe('package size limit', () => {
      it('is 3/4 of the message limit, less 1 KiB kept for dead-letter attributes', () => {
        expect(broker().capabilities.maxPackageBytes).toBe(785_664);
        expect(broker({ maxPackageBytes: 262_144 }).capabilities.maxPackageBytes).toBe(195_840);
      });

      it('refuses a package one byte over, before sending, naming its size, the limit and compress', async () => {
        const { broker: recorded, commands } = recordedBroker({ maxPackageBytes: 262_144 });
        const queue = uniqueName('too-large');
        const error = await recorded
          .enqueue(queue, [text('small'), new Uint8Array(195_841)])
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(PackageTooLargeError);
        expect((error as PackageTooLargeError).sizeBytes).toBe(195_841);
        expect((error as PackageTooLargeError).limitBytes).toBe(195_840);
        expect((error as Error).message).toContain('195841 bytes');
        expect((error as Error).message).toContain('195840 bytes');
        expect((error as Error).message).toContain('compress');
        expect(commands).toEqual([]);
      });

      it('takes a package of exactly the limit on a 256 KiB queue, and can dead-letter it with a long reason', async () => {
        const small = broker({ maxPackageBytes: 262_144 });
        const queue = uniqueName('at-limit');
        const body = Uint8Array.from({ length: 195_840 }, (_, i) => (i * 7) % 256);
        await small.enqueue(queue, [body]);
        const attributes = await queueAttributes(emulator!.client(), queue);
        expect(attributes.MaximumMessageSize).toBe('262144');
        const [delivery] = await reserveUntil(small, queue, 1);
        expect(Buffer.compare(Buffer.from(delivery!.body), Buffer.from(body))).toBe(0);
        await small.deadLetter(delivery!, `failed: ${'x'.repeat(5000)}`);
        expect((await small.size(queue)).dead).toBe(1);
      });

      it('sends the empty package and every byte value intact', async () => {
        const target = broker();
        const queue = uniqueName('binary');
        const every = Uint8Array.from({ length: 256 }, (_, i) => i);
        await target.enqueue(queue, [new Uint8Array(0)]);
        await target.enqueue(queue, [every]);
        const got = await reserveUntil(target, queue, 2);
        expect(got.map((delivery) => delivery.body.byteLength).sort((a, b) => a - b)).toEqual([0, 256]);
      });
    });

    describe('delays', () => {
      it('claim 15 minutes natively; longer ones are refused here and shortened for hops by core', async () => {
        const { broker: recorded, commands } = recordedBroker();
        expect(recorded.capabilities.delay.maxMs).toBe(900_000);
        const queue = uniqueName('long-delay');
        await expect(recorded.enqueue(queue, [text('far')], { delayMs: 900_001 })).rejects.toThrow(
          CapabilityError,
        );
        const client = new BrokerClient(recorded);
        await expect(client.enqueue(queue, [text('far')], { delayMs: 7_200_000 })).rejects.toThrow(
          CapabilityError,
        );
        await client.enqueue(queue, [text('far')], { delayMs: 7_200_000, allowDelayHops: true });
        const sends = commands.filter((command) => command.name === 'SendMessageCommand');
        expect(sends.map((command) => command.input.DelaySeconds)).toEqual([900]);
        expect(await recorded.size(queue)).toMatchObject({ ready: 0, delayed: 1 });
      });

      it('round up to whole seconds, so a package is never early', async () => {
        const { broker: recorded, commands } = recordedBroker();
        const queue = uniqueName('round-delay');
        await recorded.enqueue(queue, [text('soon')], { delayMs: 1200 });
        await recorded.enqueue(queue, [text('now')]);
        const got = await reserveUntil(recorded, queue, 1, { leaseMs: 1200 });
        expect(readText(got[0]!.body)).toBe('now');
        const sent = commands.filter((command) => command.name === 'SendMessageCommand');
        expect(sent.map((command) => command.input.DelaySeconds)).toEqual([2, undefined]);
        const receive = commands.find((command) => command.name === 'ReceiveMessageCommand');
        expect(receive?.input.VisibilityTimeout).toBe(2);
      });
    });

    describe('polling', () => {
      it('long-polls in whole seconds, at most 20 at a time, and an abort ends the poll at once', async () => {
        const { broker: recorded, commands } = recordedBroker();
        const queue = uniqueName('poll');
        for (const [waitMs, expected] of [
          [25_000, 20],
          [1500, 2],
        ] as const) {
          const controller = new AbortController();
          setTimeout(() => controller.abort(), 200);
          const started = Date.now();
          const got = await recorded.reserve(queue, {
            max: 3,
            leaseMs: 1500,
            waitMs,
            signal: controller.signal,
          });
          expect(got).toEqual([]);
          expect(Date.now() - started).toBeLessThan(1000);
          const receive = commands.filter((command) => command.name === 'ReceiveMessageCommand').at(-1);
          expect(receive?.input).toMatchObject({
            WaitTimeSeconds: expected,
            MaxNumberOfMessages: 3,
            VisibilityTimeout: 2,
          });
        }
      });
    });

    describe('queues', () => {
      it('without createQueues: enqueue to a missing queue says what to do; size counts it as empty', async () => {
        const target = broker({ createQueues: false });
        const queue = uniqueName('missing');
        const error = await target.enqueue(queue, [text('x')]).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(BrokerError);
        expect((error as BrokerError).code).toBe('SQS_QUEUE_DOES_NOT_EXIST');
        expect((error as Error).message).toContain('createQueues');
        await expect(target.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 0 })).rejects.toThrow(
          /does not exist/,
        );
        expect(await target.size(queue)).toEqual({ ready: 0, delayed: 0, reserved: 0, dead: 0 });
        expect(await target.purge(queue)).toBe(0);
      });

      it('with createQueues: creates the queue with the prefix, then its dead-letter queue (14-day retention) on first use', async () => {
        const {
          broker: recorded,
          commands,
          client,
        } = recordedBroker({ queuePrefix: 'app1-', deadLetterSuffix: '_dlq' });
        const queue = uniqueName('created');
        await recorded.enqueue(queue, [text('a')]);
        await recorded.enqueue(queue, [text('b')]);
        // The URL is looked up once and cached.
        expect(commands.filter((command) => command.name === 'GetQueueUrlCommand')).toHaveLength(1);
        expect(
          commands.filter((command) => command.name === 'CreateQueueCommand').map((c) => c.input.QueueName),
        ).toEqual([`app1-${queue}`]);
        const [delivery] = await reserveUntil(recorded, queue, 1);
        await recorded.deadLetter(delivery!, 'because');
        const dead = await queueAttributes(client, `app1-${queue}_dlq`);
        expect(dead.MessageRetentionPeriod).toBe('1209600');
        expect(await recorded.size(queue)).toMatchObject({ ready: 1, dead: 1 });
      });

      it('a deployment other than "default" puts its name after the prefix; one SQS cannot hold is hashed', async () => {
        const queue = uniqueName('named');
        const created = async (deployment: string) => {
          const { broker: recorded, commands } = recordedBroker({ queuePrefix: 'app1-' }, deployment);
          await recorded.enqueue(queue, [text(deployment)]);
          const [delivery] = await reserveUntil(recorded, queue, 1);
          expect(readText(delivery!.body)).toBe(deployment);
          await recorded.deadLetter(delivery!, 'checked');
          return commands
            .filter((command) => command.name === 'CreateQueueCommand')
            .map((c) => c.input.QueueName);
        };
        expect(await created('default')).toEqual([`app1-${queue}`, `app1-${queue}-dead`]);
        expect(await created('shop')).toEqual([`app1-shop__${queue}`, `app1-shop__${queue}-dead`]);
        expect(await created('billing.eu')).toEqual([
          `app1-billing_eu__600abb48__${queue}`,
          `app1-billing_eu__600abb48__${queue}-dead`,
        ]);
      });

      it('refuses names SQS cannot hold, naming the rule', async () => {
        const target = broker();
        await expect(target.enqueue('jobs:high', [text('x')])).rejects.toThrow(InvalidArgumentError);
        await expect(target.enqueue('jobs:high', [text('x')])).rejects.toThrow(
          /letters, digits, "-" and "_"/,
        );
        await expect(target.enqueue('jobs.fifo', [text('x')])).rejects.toThrow(/fifo: true/);
        await expect(target.enqueue('q'.repeat(76), [text('x')])).rejects.toThrow(/at most 75 characters/);
      });

      it('refuses bad options, naming each', () => {
        expect(() => new SqsBroker({ maxPackageBytes: 2_000_000 })).toThrow(
          /maxPackageBytes must be a whole number from 1024 to 1048576/,
        );
        expect(() => new SqsBroker({ queuePrefix: 'a:b' })).toThrow(/queuePrefix/);
        expect(() => new SqsBroker({ messageGroupId: 'g' })).toThrow(
          /messageGroupId applies to FIFO queues only/,
        );
        expect(() => new SqsBroker({ regoin: 'eu-west-1' } as SqsBrokerOptions)).toThrow(
          /unknown option "regoin"/,
        );
        expect(() => new SqsBroker({ client: new SQSClient({}), endpoint: 'http://x' })).toThrow(
          /endpoint cannot be combined with client/,
        );
      });
    });

    describe('dead letters', () => {
      it('keep the body byte for byte, with the reason, source queue and delivery count as attributes', async () => {
        const target = broker();
        const queue = uniqueName('dead-attributes');
        await target.enqueue(queue, [text('poison')]);
        const [first] = await reserveUntil(target, queue, 1);
        await target.release(first!);
        const [second] = await reserveUntil(target, queue, 1);
        await target.deadLetter(second!, 'bad signature \u0000 from key k1');
        const plain = emulator!.client();
        const { QueueUrl } = await plain.send(new GetQueueUrlCommand({ QueueName: `${queue}-dead` }));
        const { Messages } = await plain.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, MessageAttributeNames: ['All'] }),
        );
        const message = Messages![0]!;
        expect(Buffer.from(message.Body!, 'base64').toString()).toBe('poison');
        expect(message.MessageAttributes?.['tasq.reason']?.StringValue).toBe(
          'bad signature \uFFFD from key k1',
        );
        expect(message.MessageAttributes?.['tasq.queue']?.StringValue).toBe(queue);
        expect(message.MessageAttributes?.['tasq.deliveries']?.StringValue).toBe('2');
      });
    });

    describe('errors', () => {
      it('an unreachable endpoint is a retryable BrokerConnectionError naming it and "connection refused", never the secret key', async () => {
        const port = await freePort();
        for (const host of ['127.0.0.1', 'localhost']) {
          const target = new SqsBroker({
            url: `sqs://AKIDTEST:s3cret-key@us-east-1?endpoint=http://${host}:${port}`,
            maxAttempts: 1,
          });
          brokers.push(target);
          const error = await target.size('anything').catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(BrokerConnectionError);
          expect((error as Error).message).toContain(`SQS at http://${host}:${port}`);
          expect((error as Error).message).toContain('connection refused');
          expect((error as Error).message).not.toContain('s3cret-key');
        }
      });

      it('missing credentials: a retryable error that says so, logged once however often it repeats', async () => {
        const saved = { ...process.env };
        Object.assign(process.env, {
          AWS_PROFILE: 'tasq-no-such-profile',
          AWS_CONFIG_FILE: '/nonexistent/aws-config',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
          AWS_EC2_METADATA_DISABLED: 'true',
        });
        delete process.env.AWS_ACCESS_KEY_ID;
        delete process.env.AWS_SECRET_ACCESS_KEY;
        const logged: { level: string; message?: string }[] = [];
        const logger: Logger = {
          debug: (_, message) => logged.push({ level: 'debug', message }),
          info: (_, message) => logged.push({ level: 'info', message }),
          warn: (_, message) => logged.push({ level: 'warn', message }),
          error: (_, message) => logged.push({ level: 'error', message }),
        };
        try {
          const target = new SqsBroker({ endpoint: emulator!.endpoint, region: 'us-east-1', logger });
          brokers.push(target);
          for (let i = 0; i < 3; i++) {
            const error = await target.enqueue('creds', [text('x')]).catch((caught: unknown) => caught);
            expect(error).toBeInstanceOf(SqsCredentialsError);
            expect(error).toBeInstanceOf(BrokerConnectionError);
            expect((error as Error).message).toMatch(/credentials/);
          }
          expect(logged.filter((entry) => entry.level === 'error')).toHaveLength(1);
        } finally {
          process.env = saved;
        }
      });

      it('no region anywhere: an error that names the option to set', async () => {
        const saved = { ...process.env };
        delete process.env.AWS_REGION;
        delete process.env.AWS_DEFAULT_REGION;
        process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
        try {
          const target = new SqsBroker({ endpoint: emulator!.endpoint, credentials: TEST_CREDENTIALS });
          brokers.push(target);
          const error = await target.enqueue('no-region', [text('x')]).catch((caught: unknown) => caught);
          expect((error as BrokerError).code).toBe('SQS_CONFIGURATION');
          expect((error as Error).message).toContain('`region`');
        } finally {
          process.env = saved;
        }
      });

      it('a queue whose MaximumMessageSize is below maxPackageBytes gets a message that names the fix', async () => {
        const plain = emulator!.client();
        const queue = uniqueName('small-queue');
        await plain.send(
          new CreateQueueCommand({
            QueueName: queue,
            Attributes: { MaximumMessageSize: '2048' },
          }),
        );
        const target = broker({ createQueues: false });
        const error = await target.enqueue(queue, [new Uint8Array(4000)]).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(BrokerError);
        expect((error as BrokerError).code).toBe('SQS_MESSAGE_TOO_LARGE');
        expect((error as Error).message).toContain('maxPackageBytes');
      });

      it('extend after ack is a LeaseLostError; a foreign delivery is refused', async () => {
        const target = broker();
        const queue = uniqueName('after-ack');
        await target.enqueue(queue, [text('x')]);
        const [delivery] = await reserveUntil(target, queue, 1);
        await target.ack(delivery!);
        await expect(target.extend(delivery!, 5000)).rejects.toThrow(/already settled/);
        const foreign: Delivery = { ...delivery!, receipt: 'handle' };
        await expect(target.ack(foreign)).rejects.toThrow(InvalidArgumentError);
      });
    });

    it('keeps receipts usable after a structured clone or a JSON round trip, and still refuses a second settle', async () => {
      const target = broker();
      const queue = uniqueName('cloned');
      await target.enqueue(queue, [text('one'), text('two')]);
      const got = await reserveUntil(target, queue, 2);
      const cloned = structuredClone(got[0]!);
      const parsed: Delivery = { ...got[1]!, receipt: JSON.parse(JSON.stringify(got[1]!.receipt)) };
      await target.extend(cloned, 10_000);
      await target.ack(cloned);
      await target.ack(parsed);
      await expect(target.ack(got[0]!)).rejects.toThrow(LeaseLostError);
      await expect(target.release(got[1]!)).rejects.toThrow(LeaseLostError);
      expect(await target.size(queue)).toMatchObject({ ready: 0, reserved: 0 });
    });

    it('close lets acks already asked for reach SQS before it closes the client', async () => {
      const target = emulator!.broker();
      const queue = uniqueName('close-acks');
      await target.enqueue(queue, [text('1'), text('2'), text('3')]);
      const got = await reserveUntil(target, queue, 3);
      const acks = got.map((delivery) => target.ack(delivery));
      await target.close();
      // Once close has resolved, the deletes have been applied: no ack is left waiting in a batch.
      expect(await broker().size(queue)).toMatchObject({ ready: 0, reserved: 0 });
      await Promise.all(acks);
      await expect(target.ack(got[0]!)).rejects.toThrow(/after close/);
    });

    it('reads messages other producers sent, without failing on text that is not base64', async () => {
      const target = broker();
      const queue = uniqueName('foreign');
      await target.enqueue(queue, [text('ours')]);
      const plain = emulator!.client();
      const { QueueUrl } = await plain.send(new GetQueueUrlCommand({ QueueName: queue }));
      await plain.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"not": "base64"}' }));
      const got = await reserveUntil(target, queue, 2);
      expect(got).toHaveLength(2);
      expect(got.map((delivery) => readText(delivery.body))).toContain('ours');
    });
  },
);
