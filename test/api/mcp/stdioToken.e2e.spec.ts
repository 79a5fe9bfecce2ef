import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import { runCli } from '../../support/cli.js';
import { call, ok } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

const textOf = (result: CallToolResult): string => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('vespera mcp with VESPERA_TOKEN_FILE (stdio, spawned)', function () {
  this.timeout(90_000);
  let dataDir: string;
  let tokenFile: string;
  let client: Client;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-mcp-token-'));
    tokenFile = path.join(dataDir, 'agent.token');
    // Given a token file that holds no valid token (as after an expiry or a revocation)…
    fs.writeFileSync(tokenFile, 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.c2lnbmF0dXJl\n', { mode: 0o600 });
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_')));
    client = new Client({ name: 'vespera-token-spec', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'mcp'],
        cwd: ROOT,
        env: { ...(env as Record<string, string>), VESPERA_DATA_DIR: dataDir, VESPERA_TOKEN_FILE: tokenFile, VESPERA_LOG_LEVEL: 'silent' },
        stderr: 'pipe',
      }),
    );
  });

  after(async () => {
    await client?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts anyway, and answers a tool call with an error that says what to run', async () => {
    const refused = await call(client, 'list_tasks', {});
    expect(refused.isError).to.equal(true);
    expect(textOf(refused)).to.match(/vespera token create --plugin/);
    expect(textOf(refused)).to.include('VESPERA_TOKEN_FILE');
  });

  it('takes a new token written to the file at the next call, without a restart', async () => {
    const issued = await runCli(
      ['token', 'create', '--plugin', 'file-agent', '--capabilities', 'task_reading,task_creation', '--ttl', '90d'],
      dataDir,
    );
    expect(issued.code, issued.stderr).to.equal(0);
    fs.writeFileSync(tokenFile, issued.stdout, { mode: 0o600 });
    const created = ok<{ id: string }>(await call(client, 'create_task', { title: 'Filed with a token from a file' }));
    expect(ok(await call(client, 'get_task', { id: created.id }))).to.include({ title: 'Filed with a token from a file' });
  });
});
