import path from 'node:path';

/** Where each store of a node lives inside its data directory. */
export const dataFiles = (dataDir: string) => ({
  events: path.join(dataDir, 'events.db'),
  readModel: path.join(dataDir, 'read.db'),
  idempotencyKeys: path.join(dataDir, 'keys.db'),
  /** The administrator's token (mode 0600), renewed by the server, read by `vespera mcp` and `vespera services`. */
  adminToken: path.join(dataDir, 'admin.token'),
});
