import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { expect } from 'chai';
import pg from 'pg';

/** The shared PostgreSQL the specs run against (.ci/run starts it): trust auth, database `test`. */
export const POSTGRES_ADMIN_URL = process.env.VESPERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** True when PostgreSQL answers a query at `url` within `timeoutMs`. */
export const postgresAnswers = async (url = POSTGRES_ADMIN_URL, timeoutMs = 2000): Promise<boolean> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
};

/** PostgreSQL is required, not optional (as Redis is): without it a spec fails at once and says what to start. */
export const requirePostgres = async (url = POSTGRES_ADMIN_URL): Promise<void> => {
  expect(await postgresAnswers(url), `PostgreSQL answers at ${url} (start it: .ci/run does, or pg_ctlcluster <version> main start)`).to.equal(true);
};

const withAdmin = async <T>(run: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
};

/** A uniquely named empty database on the shared server, and the function that drops it (with its connections). */
export const freshDatabase = async (): Promise<{ url: string; name: string; drop: () => Promise<void> }> => {
  const name = `vespera_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  // A database name cannot be a parameter; this one is made here from hex digits only.
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
};

/**
 * A TCP proxy on 127.0.0.1 port 0 in front of the real server, to cut and restore: `cut()` destroys every open
 * connection and refuses new ones (as a restarting server does), `restore()` accepts again. The server itself is
 * never touched.
 */
export const startProxy = async (target: { host: string; port: number }) => {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    /** `url` with its host and port pointed at the proxy. */
    urlFor: (url: string) => {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    cut: () => {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      open = true;
    },
    close: async () => {
      open = false;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
