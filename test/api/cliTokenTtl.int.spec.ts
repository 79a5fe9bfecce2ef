import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { runCli } from '../support/cli.js';

/** The `iat`/`exp` claims of a JWT, read without verifying it (the spec checks the lifetime, not the signature). */
const lifetime = (token: string): number => {
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iat: number; exp: number };
  return claims.exp - claims.iat;
};

describe('vespera token create --ttl', function () {
  this.timeout(60_000);
  let dataDir: string;

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-ttl-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const create = (ttl: string, env: Record<string, string> = {}) =>
    runCli(['token', 'create', '--plugin', 'desk-agent', '--capabilities', 'task_reading', '--ttl', ttl], dataDir, env);

  describe('given a duration with a unit within the default cap', () => {
    for (const [ttl, seconds] of [
      ['90d', 7_776_000],
      ['2w', 1_209_600],
      ['3600', 3600],
    ] as const) {
      it(`issues a token that lives ${ttl} (${seconds} s)`, async () => {
        const run = await create(ttl);
        expect(run.code, run.stderr).to.equal(0);
        expect(lifetime(run.stdout.trim())).to.equal(seconds);
      });
    }
  });

  describe('given a duration the parser does not understand', () => {
    it('exits 2 with a sentence naming the accepted forms, and writes nothing', async () => {
      const run = await create('1.5h');
      expect(run.code).to.equal(2);
      expect(run.stderr).to.include('--ttl takes a whole number of seconds or a number with a unit: 30s, 15m, 12h, 90d, 2w');
      expect(run.stdout).to.equal('');
      expect(fs.readdirSync(dataDir)).to.deep.equal([]);
    });
  });

  describe('given a duration beyond VESPERA_TOKEN_MAX_TTL_SECONDS', () => {
    it('exits 2 naming the cap and the setting that raises it, instead of silently issuing a shorter token', async () => {
      const run = await create('91d');
      expect(run.code).to.equal(2);
      expect(run.stderr).to.include('--ttl 91d is outside 60s to 90d; set VESPERA_TOKEN_MAX_TTL_SECONDS');
      expect(fs.readdirSync(dataDir)).to.deep.equal([]);
    });

    it('issues it once the setting is raised', async () => {
      const run = await create('180d', { VESPERA_TOKEN_MAX_TTL_SECONDS: String(180 * 86_400) });
      expect(run.code, run.stderr).to.equal(0);
      expect(lifetime(run.stdout.trim())).to.equal(180 * 86_400);
    });
  });

  describe('given a duration under a minute', () => {
    it('exits 2', async () => {
      const run = await create('30s');
      expect(run.code).to.equal(2);
      expect(run.stderr).to.include('--ttl 30s is outside 60s to 90d');
    });
  });
});
