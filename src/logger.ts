import { pino, type Logger } from 'pino';

/** Logs go to stderr: stdout belongs to the MCP stdio transport. */
export const createLogger = (level: string, name = 'vespera'): Logger => pino({ name, level }, pino.destination({ fd: 2, sync: false }));
