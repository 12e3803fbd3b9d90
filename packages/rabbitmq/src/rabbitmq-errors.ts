/**
 * The one place amqplib's and the server's errors become tasq's closed set. amqplib reports server
 * refusals as an Error with the AMQP reply `code` (404, 406...), socket failures as Node errors with a
 * string `code` (ECONNREFUSED...), and use of a closed channel or connection as `IllegalOperationError`.
 */
import {
  BrokerConnectionError,
  BrokerError,
  InvalidArgumentError,
  LeaseLostError,
  networkFailureCause,
  TasqError,
} from '@tasq/core/backend';

/** AMQP 0-9-1 reply codes RabbitMQ uses for the failures we tell apart. */
const REPLY = {
  connectionForced: 320,
  accessRefused: 403,
  notFound: 404,
  resourceLocked: 405,
  preconditionFailed: 406,
  frameError: 501,
  channelError: 504,
  internalError: 541,
} as const;

/** Socket-level failures: the server is away or the network dropped; reconnecting is the cure. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** amqplib's messages for "the thing you used is gone" (connection or channel closed underneath). */
const CLOSED_MESSAGE =
  /channel closed|connection closed|socket closed|channel ended|heartbeat timeout|connection_forced/i;

interface DriverError {
  code?: unknown;
  name?: unknown;
  message?: unknown;
}

/**
 * Map any error thrown while talking to RabbitMQ to a tasq error. `context` says what was being done
 * ("enqueue to emails"), so the message names the operation; the cause is kept.
 */
export function toTasqError(error: unknown, context: string): TasqError {
  if (error instanceof TasqError) return error;
  const driver = (typeof error === 'object' && error !== null ? error : {}) as DriverError;
  const message = typeof driver.message === 'string' ? driver.message : String(error);
  const code = driver.code;

  if (error instanceof RangeError) {
    // amqplib 2.3.1 refuses a headers table over 64 KiB before sending anything.
    return new InvalidArgumentError(`${context}: ${message}`);
  }
  const cause = networkFailureCause(error);
  if (cause !== undefined || (typeof code === 'string' && SOCKET_CODES.has(code))) {
    return new BrokerConnectionError(`${context}: RabbitMQ is not reachable: ${cause ?? code}`, {
      cause: error,
    });
  }
  if (driver.name === 'IllegalOperationError' || CLOSED_MESSAGE.test(message)) {
    return new BrokerConnectionError(`${context}: the RabbitMQ connection or channel closed (${message})`, {
      cause: error,
    });
  }
  if (typeof code === 'number') {
    switch (code) {
      case REPLY.connectionForced:
      case REPLY.internalError:
      case REPLY.frameError:
      case REPLY.channelError:
        return new BrokerConnectionError(`${context}: RabbitMQ closed the connection (${message})`, {
          cause: error,
        });
      case REPLY.accessRefused:
        return new BrokerError(
          `${context}: RabbitMQ refused access (${message}); check the user's permissions on the vhost`,
          { cause: error, code: 'BROKER_ACCESS_REFUSED' },
        );
      case REPLY.notFound:
        return new BrokerError(`${context}: not found on the RabbitMQ server (${message})`, {
          cause: error,
          code: 'BROKER_NOT_FOUND',
        });
      case REPLY.resourceLocked:
        return new BrokerError(`${context}: the queue is exclusive to another connection (${message})`, {
          cause: error,
        });
      case REPLY.preconditionFailed:
        if (/inequivalent arg/i.test(message)) {
          return new BrokerError(
            `${context}: the queue or exchange exists with other arguments (${message}); ` +
              'delete it or use the options it was declared with (queueType, maxPriority, deliveryLimit)',
            { cause: error, code: 'BROKER_TOPOLOGY_MISMATCH' },
          );
        }
        return new BrokerError(`${context}: RabbitMQ refused the operation (${message})`, { cause: error });
    }
  }
  if (/ACCESS_REFUSED|Login was refused/i.test(message)) {
    return new BrokerError(
      `${context}: RabbitMQ refused the login (${message}); check the user name and password`,
      {
        cause: error,
        code: 'BROKER_ACCESS_REFUSED',
      },
    );
  }
  if (message === 'message nacked') {
    // The server could not take the message (a queue at its length limit with reject-publish, an
    // internal error): nothing was stored, so retrying is safe.
    return new BrokerConnectionError(`${context}: RabbitMQ did not accept the package (negative confirm)`, {
      cause: error,
    });
  }
  return new BrokerError(`${context}: ${message}`, { cause: error });
}

/**
 * A settle call named a delivery whose channel has closed: the server has already put the package
 * back in its queue (or will at once), so acting on it now would act on a delivery that no longer exists.
 */
export function channelClosedLease(operation: string, queue: string): LeaseLostError {
  return new LeaseLostError(
    `${operation} on a delivery from "${queue}" after the channel that delivered it closed; ` +
      'RabbitMQ has returned the package to the queue and will deliver it again',
  );
}

/** A settle call on a delivery this broker already acked, released or dead-lettered. */
export function alreadySettledLease(operation: string, queue: string): LeaseLostError {
  return new LeaseLostError(`${operation} on a delivery from "${queue}" that was already settled`);
}

/** `mandatory` publish that no queue took: the target queue was deleted after we declared it. */
export function unroutable(context: string, routingKey: string): BrokerError {
  return new BrokerError(
    `${context}: RabbitMQ routed the package to no queue ("${routingKey}" does not exist any more); nothing was stored`,
    { code: 'BROKER_UNROUTABLE' },
  );
}
