import pino, { type Logger } from 'pino';

/**
 * Errors as pino logs them, minus what people wrote. pino's standard serializer copies every
 * enumerable field of an error, and grammY's GrammyError carries the whole request it failed on
 * (`payload`: the message text with names, a complaint, a voucher code...); PostgreSQL's `detail`
 * echoes row values ("Key (phone)=(...) already exists"). What stays is enough to act on: the type,
 * the message, the stack, the method, the error code and Telegram's description.
 */
const PRIVATE_FIELDS = ['payload', 'detail'] as const;

export function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown;
  if (serialized && typeof serialized === 'object') {
    for (const field of PRIVATE_FIELDS) delete (serialized as Record<string, unknown>)[field];
  }
  return serialized;
}

const serializers = { err: serializeError, error: serializeError };

/** Readable, coloured lines for a person at a terminal; one JSON object a line for log collectors. */
export function createLogger(level: string, pretty = Boolean(process.stdout.isTTY)): Logger {
  const transport = pretty ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,app' } } : undefined;
  return pino({ level, base: { app: 'bashgah' }, serializers, ...(transport ? { transport } : {}) });
}

/** The same logger with the private-field rule, for loggers made elsewhere (tests, scripts). */
export function withPrivateErrors(logger: Logger): Logger {
  return logger.child({}, { serializers });
}
