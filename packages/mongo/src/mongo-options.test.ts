import { ConfigError } from '@tasq/core/backend';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { databaseFromUrl, resolveMongoOptions } from './mongo-options.js';

function issuesOf(options: unknown): readonly string[] {
  try {
    resolveMongoOptions(options as never);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('databaseFromUrl', () => {
  it('reads the database from the path of single-host, seed-list and SRV connection strings', () => {
    expect(databaseFromUrl('mongodb://127.0.0.1:27017/orders')).toBe('orders');
    expect(databaseFromUrl('mongodb://a:1,b:2,c:3/orders?replicaSet=rs0')).toBe('orders');
    expect(databaseFromUrl('mongodb+srv://user:p%40ss@cluster0.example.net/orders?retryWrites=true')).toBe(
      'orders',
    );
    expect(databaseFromUrl('mongodb://h/my%20db')).toBe('my db');
  });

  it('says "none" when the path is empty or absent', () => {
    expect(databaseFromUrl('mongodb://127.0.0.1:27017')).toBeUndefined();
    expect(databaseFromUrl('mongodb://127.0.0.1:27017/')).toBeUndefined();
    expect(databaseFromUrl('mongodb://h/?replicaSet=rs0')).toBeUndefined();
  });
});

describe('resolveMongoOptions', () => {
  it('gives every deployment but "default" collections of its own, after the prefix', () => {
    expect(resolveMongoOptions(undefined).collectionPrefix).toBe('tasq_');
    expect(resolveMongoOptions(undefined, 'default').collectionPrefix).toBe('tasq_');
    expect(resolveMongoOptions(undefined, 'shop').collectionPrefix).toBe('tasq_shop_');
    expect(resolveMongoOptions({ collectionPrefix: 'app_' }, 'billing.eu-1').collectionPrefix).toBe(
      'app_billing.eu-1_',
    );
    // A name with "__" could meet another deployment's prefix: it is hashed.
    expect(resolveMongoOptions(undefined, 'a__b').collectionPrefix).toMatch(/^tasq_a_b__[0-9a-f]{8}_$/);
  });

  it('defaults to the local server, database tasq, 200 ms polling and change streams when available', () => {
    const resolved = resolveMongoOptions(undefined);
    expect(resolved.url).toBe('mongodb://127.0.0.1:27017');
    expect(resolved.database).toBe('tasq');
    expect(resolved.poll).toBe(200);
    expect(resolved.changeStreams).toBe('auto');
    expect(resolved.collectionPrefix).toBe('tasq_');
    expect(resolved.cachedSeconds).toBeUndefined();
  });

  it('takes a bare string as the connection string', () => {
    const resolved = resolveMongoOptions('mongodb://db1:27017,db2:27017/shop?replicaSet=rs0');
    expect(resolved.url).toBe('mongodb://db1:27017,db2:27017/shop?replicaSet=rs0');
    expect(resolved.database).toBe('shop');
    expect(issuesOf(42)).toEqual(['mongo options must be an object, or a connection string']);
  });

  it('takes the database from the URL, and the database option over the URL', () => {
    expect(resolveMongoOptions({ url: 'mongodb://h:27017/shop' }).database).toBe('shop');
    expect(resolveMongoOptions({ url: 'mongodb://h:27017/shop', database: 'queues' }).database).toBe(
      'queues',
    );
    expect(resolveMongoOptions({ url: 'mongodb://h:27017/' }).database).toBe('tasq');
  });

  it('accepts Django-Q2’s mongoDb as the same option as database', () => {
    expect(resolveMongoOptions({ url: 'mongodb://h/shop', mongoDb: 'legacy' }).database).toBe('legacy');
    expect(issuesOf({ database: 'a', mongoDb: 'b' })).toEqual([
      'mongoDb: is another name for `database`; give one of them',
    ]);
  });

  it('uses an existing MongoClient as given, with database tasq unless named', () => {
    const client = new MongoClient('mongodb://h:27017/ignored');
    const resolved = resolveMongoOptions({ client });
    expect(resolved.client).toBe(client);
    expect(resolved.url).toBeUndefined();
    expect(resolved.database).toBe('tasq');
    expect(resolveMongoOptions({ client, database: 'jobs' }).database).toBe('jobs');
  });

  it('refuses a client together with a URL, and a client that is not a MongoClient', () => {
    const client = new MongoClient('mongodb://h:27017');
    expect(issuesOf({ client, url: 'mongodb://h' })).toEqual([
      'client: give either `client` or `url`/`clientOptions`, not both',
    ]);
    expect(issuesOf({ client: { db() {} } })).toEqual([
      'client: must be a MongoClient from the `mongodb` package',
    ]);
  });

  it('names every bad key in one error', () => {
    const issues = issuesOf({
      url: 'postgres://h/db',
      poll: 0,
      changeStreams: 'yes',
      cached: 1.5,
      database: 'bad.name',
      pollInterval: 5,
    });
    expect(issues).toHaveLength(6);
    expect(issues).toContain('url: must start with mongodb:// or mongodb+srv:// (got "postgres://h/db")');
    expect(issues).toContain('poll: must be a number of milliseconds >= 1 (got 0)');
    expect(issues).toContain('changeStreams: must be "auto", true or false (got "yes")');
    expect(issues).toContain('cached: must be a whole number of seconds >= 1 (got 1.5)');
    expect(issues.find((issue) => issue.startsWith('database:'))).toContain('"bad.name" is not a valid');
    expect(issues.find((issue) => issue.startsWith('pollInterval:'))).toContain('unknown mongo option');
  });

  it('blames the URL when the database it names is invalid', () => {
    expect(issuesOf({ url: 'mongodb://h/a$b' })[0]).toMatch(
      /^url: "a\$b" is not a valid MongoDB database name/,
    );
  });
});
