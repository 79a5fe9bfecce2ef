import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const run = promisify(execFile);

/** An environment with nothing of the test run's own (no VESPERA_*, no NODE_OPTIONS with tsx): what a user's shell has. */
export const cleanEnvironment = (extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  VESPERA_LOG_LEVEL: 'silent',
  ...extra,
});

/** Starts `command args… mcp --data-dir DIR` from `cwd` as an MCP client would, and returns its tool names. */
export const mcpToolNames = async (
  command: string,
  args: string[],
  cwd: string,
  dataDir: string,
): Promise<{ server: string | undefined; tools: string[] }> => {
  const transport = new StdioClientTransport({
    command,
    args: [...args, 'mcp', '--data-dir', dataDir],
    cwd,
    env: cleanEnvironment({ VESPERA_MCP_TOOLS: 'all' }),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'vespera-pack-spec', version: '1.0.0' });
  try {
    await client.connect(transport);
    const tools = (await client.listTools()).tools.map((t) => t.name);
    return { server: client.getServerVersion()?.name, tools };
  } catch (error) {
    throw new Error(`vespera mcp did not answer: ${(error as Error).message}\n${stderr}`);
  } finally {
    await client.close();
  }
};
