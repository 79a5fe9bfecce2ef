import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/testApp.js';
import { compareOutput, IdMap, parseTranscript, Shell, type Step } from './transcript.js';
import { freePort } from '../../src/util/freePort.js';

/**
 * The manual's console transcripts are run, so their answers stay true: docs/walkthrough.md and the README's agent
 * loop. Each page's ```console blocks are replayed in order in one bash session (so variables carry over), each
 * command's output compared with the lines the page prints under it.
 *
 * Wildcards (test/deploy/transcript.ts): ids (UUIDs: task ids, jtis, correlation ids) match any id, consistently —
 * one documented id stands for one id of the run all through the page, and two documented ids never for the same
 * one; ISO-8601 times, ten-digit Unix times (`iat`, `exp`), JWTs and the seconds left in a rate-limit window
 * (`reset=N`, `Retry-After: N`) match any value of their kind; numbers with a fraction (similarities, scores)
 * match within a relative 0.1 %; trailing white space (curl's CR on header lines) is ignored. Everything else —
 * status codes, error codes, field names, titles, statuses, counts, positions, versions, the number and order of
 * lines — must match exactly. The page's port (3123 in the walk-through, 3000 in the README) is replaced in the
 * commands by a free one, and back in their output.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const COMMAND_TIMEOUT_MS = 120_000;

/** The environment of a reader's shell: nothing of the test run's own Vespera settings. */
const readerEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VESPERA_')));

/** The steps of a page grouped under its `## ` sections (the README's blocks all sit under one). */
const sections = (markdown: string): { title: string; steps: Step[] }[] => {
  const headings = [...markdown.matchAll(/^##? (.+)$/gm)].map((m) => ({ title: m[1]!, line: markdown.slice(0, m.index).split('\n').length }));
  const groups = new Map<string, Step[]>();
  for (const step of parseTranscript(markdown)) {
    const title = headings.filter((h) => h.line < step.line).at(-1)?.title ?? '(top)';
    groups.set(title, [...(groups.get(title) ?? []), step]);
  }
  return [...groups].map(([title, steps]) => ({ title, steps }));
};

const shown = (step: Step) => step.command.split('\n')[0]!.slice(0, 100);

/** Runs the steps in the shell and fails at the first command whose output or exit status the page contradicts. */
const replay = async (shell: Shell, page: string, steps: Step[], ids: IdMap, ports: [string, string]) => {
  const [documented, actual] = ports;
  for (const step of steps) {
    const run = await shell.run(step.command.replaceAll(documented, actual), COMMAND_TIMEOUT_MS);
    const why = compareOutput(step.expected, run.output.replaceAll(actual, documented), ids);
    expect(why, `${page}:${step.line}: $ ${shown(step)}\n${why}\nfull output:\n${run.output}`).to.equal(undefined);
    expect(run.status, `${page}:${step.line}: $ ${shown(step)} exited ${run.status}; it printed:\n${run.output}`).to.equal(0);
  }
};

describe('The walk-through (docs/walkthrough.md), replayed against a server started as it shows', function () {
  this.timeout(5 * 60_000);
  this.bail(true);
  const page = 'docs/walkthrough.md';
  const markdown = fs.readFileSync(path.join(root, page), 'utf8');
  const ids = new IdMap();
  let scratch: string;
  let shell: Shell;
  let port: number;

  before(async () => {
    port = await freePort();
    // `mktemp -d` makes the page's data directory under TMPDIR, so it goes away with this one even after a failure.
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-walkthrough-'));
    shell = new Shell(root, { ...readerEnv(), TMPDIR: scratch });
  });

  after(async () => {
    await shell?.close(); // the page stops its server; after a failure this stops it
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('has console blocks to replay', () => {
    expect(parseTranscript(markdown).length).to.be.greaterThan(50);
  });

  for (const { title, steps } of sections(markdown)) {
    it(`answers as the page says: ${title} (${steps.length} commands)`, async () => {
      await replay(shell, page, steps, ids, ['3123', String(port)]);
    });
  }
});

describe("The README's agent loop, replayed against a fresh server", function () {
  this.timeout(60_000);
  this.bail(true);
  const page = 'README.md';
  const markdown = fs.readFileSync(path.join(root, page), 'utf8');
  const loop = sections(markdown).find((s) => s.title === "An agent's loop")?.steps ?? [];
  let app: TestApp;
  let cwd: string;
  let shell: Shell;

  before(async () => {
    app = await startTestApp();
    // The README runs from a checkout with `npm start`: `.vespera` in the working directory, port 3000.
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-readme-'));
    fs.symlinkSync(app.dataDir, path.join(cwd, '.vespera'));
    shell = new Shell(cwd, readerEnv());
  });

  after(async () => {
    await shell?.close();
    await app?.close();
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('claims, heartbeats and completes a task as the README shows', async () => {
    expect(loop.map((s) => s.command).join('\n'))
      .to.include('/claim-next')
      .and.include('/heartbeat')
      .and.include('/complete');
    await replay(shell, page, loop, new IdMap(), ['3000', new URL(app.baseUrl).port]);
  });
});
