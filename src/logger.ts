import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Creates the process logger: JSON lines in production, readable lines when `pretty` is set.
 * Secrets are redacted by path as a second line of defence; code must still never log them.
 * `destination` receives the JSON lines instead of stdout, as tests do to read them back; it
 * is ignored when `pretty` is set.
 */
export function createLogger(options: { level: string; pretty: boolean; name: string; destination?: DestinationStream }): Logger {
  const settings = {
    name: options.name,
    level: options.level,
    // The Temporal SDK reports activity and workflow failures under `error`. Without a serializer the
    // line would lose an Error's message and stack, because neither is enumerable.
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    redact: {
      paths: ['secret', '*.secret', 'req.headers.authorization', 'headers["webhook-signature"]'],
      censor: '[redacted]',
    },
    ...(options.pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  };
  return options.destination === undefined || options.pretty ? pino(settings) : pino(settings, options.destination);
}
