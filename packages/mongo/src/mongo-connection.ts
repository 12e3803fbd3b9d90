/**
 * One MongoDB connection as the broker, result backend and schedule store use it: the client (made from
 * the options or borrowed from the application), the database, the collection names, and whether the
 * deployment can push change events.
 */
import { ConfigError } from '@tasq/core/backend';
import { type Db, MongoClient, MongoServerError } from 'mongodb';
import { type CollectionNames, collectionNames } from './mongo-collections.js';
import { mapDriverErrors } from './mongo-errors.js';
import type { ResolvedMongoOptions } from './mongo-options.js';

const COMMAND_NOT_FOUND = 59;

/** What `hello` says about the deployment, as far as tasq cares. */
export interface DeploymentShape {
  /** The replica set's name when the server is a member of one. */
  readonly setName: string | undefined;
  /** The server is a `mongos` router (`msg: "isdbgrid"`), i.e. a sharded cluster. */
  readonly sharded: boolean;
}

/**
 * Change streams exist on replica sets and sharded clusters, not on a standalone server. Read from the
 * `hello` reply: `setName` for a replica set member, `msg: "isdbgrid"` for a mongos.
 */
export function supportsChangeStreams(shape: DeploymentShape): boolean {
  return shape.setName !== undefined || shape.sharded;
}

/** Read the deployment shape out of a `hello` (or legacy `isMaster`) reply. */
export function deploymentShapeFromHello(reply: Record<string, unknown>): DeploymentShape {
  return {
    setName: typeof reply.setName === 'string' ? reply.setName : undefined,
    sharded: reply.msg === 'isdbgrid',
  };
}

export class MongoConnection {
  readonly client: MongoClient;
  readonly database: Db;
  readonly collections: CollectionNames;
  readonly options: ResolvedMongoOptions;
  /** Whether this connection made the client (and so closes it). */
  private readonly ownsClient: boolean;
  private closed = false;

  private constructor(client: MongoClient, ownsClient: boolean, options: ResolvedMongoOptions) {
    this.client = client;
    this.ownsClient = ownsClient;
    this.options = options;
    this.database = client.db(options.database);
    this.collections = collectionNames(options.collectionPrefix);
  }

  /** Make (or borrow) the client and connect. `BrokerConnectionError` when the server cannot be reached. */
  static async open(options: ResolvedMongoOptions): Promise<MongoConnection> {
    const ownsClient = options.client === undefined;
    const client = options.client ?? new MongoClient(options.url!, options.clientOptions);
    const connection = new MongoConnection(client, ownsClient, options);
    try {
      // connect() is a no-op on a client that is already connected.
      await mapDriverErrors('connect', () => client.connect());
    } catch (error) {
      await connection.close();
      throw error;
    }
    return connection;
  }

  /**
   * Whether to use change streams, from the `changeStreams` option and the deployment's `hello` reply.
   * `changeStreams: true` on a deployment without them is an error raised here, at start.
   */
  async useChangeStreams(): Promise<boolean> {
    if (this.options.changeStreams === false) return false;
    const reply = await mapDriverErrors('hello', () => this.hello());
    const supported = supportsChangeStreams(deploymentShapeFromHello(reply));
    if (!supported && this.options.changeStreams === true) {
      throw new ConfigError(
        [
          'changeStreams: true, but the server is a standalone mongod (its hello reply names no replica set); ' +
            'start it as a one-member replica set (--replSet) or set changeStreams to "auto"',
        ],
        '@tasq/mongo',
      );
    }
    return supported;
  }

  /** `hello`, or `isMaster` on a server older than 4.4.2 that answers `hello` with CommandNotFound. */
  private async hello(): Promise<Record<string, unknown>> {
    const admin = this.database.admin();
    try {
      return await admin.command({ hello: 1 });
    } catch (error) {
      if (error instanceof MongoServerError && error.code === COMMAND_NOT_FOUND) {
        return admin.command({ isMaster: 1 });
      }
      throw error;
    }
  }

  /** Close the client if tasq made it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) await this.client.close().catch(() => undefined);
  }
}
