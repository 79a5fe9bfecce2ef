import path from 'node:path';

/** Where each store of a node lives inside its data directory. */
export const dataFiles = (dataDir: string) => ({
  events: path.join(dataDir, 'events.db'),
  readModel: path.join(dataDir, 'read.db'),
  graph: path.join(dataDir, 'graph.kuzu'),
  idempotencyKeys: path.join(dataDir, 'keys.db'),
  /** The administrator's token (mode 0600), renewed by the server, read by `vespera mcp` and `vespera services`. */
  adminToken: path.join(dataDir, 'admin.token'),
  /** `{pid, url, startedAt}` of the server that owns this directory while it listens (see serverFile.ts). */
  server: path.join(dataDir, 'server.json'),
  /** `{generation}` of the vector model's Chroma collections in use: a blue-green rebuild builds the next one aside. */
  vectorGeneration: path.join(dataDir, 'vectors.json'),
  /** Scratch space of administrative work (verify's models rebuilt aside), emptied by whoever made it. */
  tmp: path.join(dataDir, 'tmp'),
});
