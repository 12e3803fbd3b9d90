import { InvalidArgumentError } from '@tasq/core/backend';
import { describe, expect, it } from 'vitest';
import { parseSqsUrl } from './sqs-url.js';

describe('connection URL', () => {
  it('sqs://region, with credentials and options as parameters', () => {
    expect(parseSqsUrl('sqs://eu-west-1')).toEqual({ region: 'eu-west-1' });
    expect(parseSqsUrl('sqs://')).toEqual({});
    expect(
      parseSqsUrl(
        'sqs://AKIDEXAMPLE:wJalr%2FK7MDENG%2Bbx@us-east-2?queuePrefix=shop-&createQueues=true&maxPackageBytes=262144',
      ),
    ).toEqual({
      region: 'us-east-2',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalr/K7MDENG+bx' },
      queuePrefix: 'shop-',
      createQueues: true,
      maxPackageBytes: 262_144,
    });
  });

  it('http(s)://endpoint, with the region read from an AWS host', () => {
    expect(parseSqsUrl('http://127.0.0.1:4566?region=us-east-1&fifo=true')).toEqual({
      endpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      fifo: true,
    });
    expect(parseSqsUrl('https://sqs.ap-southeast-2.amazonaws.com/')).toEqual({
      endpoint: 'https://sqs.ap-southeast-2.amazonaws.com',
      region: 'ap-southeast-2',
    });
  });

  it('refuses what it cannot mean, naming it', () => {
    expect(() => parseSqsUrl('eu-west-1')).toThrow(InvalidArgumentError);
    expect(() => parseSqsUrl('redis://localhost')).toThrow(/scheme "redis:"/);
    expect(() => parseSqsUrl('sqs://eu-west-1?createQueue=true')).toThrow(
      /unknown url parameter "createQueue"/,
    );
    expect(() => parseSqsUrl('sqs://eu-west-1?fifo=yes')).toThrow(/fifo must be true or false/);
    expect(() => parseSqsUrl('sqs://key@eu-west-1')).toThrow(/both an access key id and a secret/);
    expect(() => parseSqsUrl('http://key:secret@localhost:4566')).toThrow(/not in an http\(s\) endpoint URL/);
    expect(() => parseSqsUrl('sqs://eu-west-1/queue')).toThrow(/port or path/);
  });
});
