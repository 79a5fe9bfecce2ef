import path from 'node:path';

/** Where each store of a node lives inside its data directory. */
export const dataFiles = (dataDir: string) => ({
  events: path.join(dataDir, 'events.db'),
  readModel: path.join(dataDir, 'read.db'),
  graph: path.join(dataDir, 'graph.kuzu'),
  idempotencyKeys: path.join(dataDir, 'keys.db'),
  /** Snapshots of project aggregates (a disposable cache: deleting the file costs one fold of each project from its log). */
  snapshots: path.join(dataDir, 'snapshots.db'),
  /** The administrator's token (mode 0600), renewed by the server, read by `vespera mcp` and `vespera services`. */
  adminToken: path.join(dataDir, 'admin.token'),
  /** `{pid, url, startedAt, mcpSocket}` of the server that owns this directory while it listens (see serverFile.ts). */
  server: path.join(dataDir, 'server.json'),
  /** Held (an exclusive SQLite lock, released by the OS when the process dies) by the one process that owns the stores. */
  ownerLock: path.join(dataDir, 'owner.lock'),
  /** The owner's local MCP socket, which every other `vespera mcp` on the directory bridges its stdio to. */
  mcpSocket: path.join(dataDir, 'mcp.sock'),
  /** `{generation}` of the vector model's Chroma collections in use: a blue-green rebuild builds the next one aside. */
  vectorGeneration: path.join(dataDir, 'vectors.json'),
  /** Scratch space of administrative work (verify's models rebuilt aside), emptied by whoever made it. */
  tmp: path.join(dataDir, 'tmp'),
});
