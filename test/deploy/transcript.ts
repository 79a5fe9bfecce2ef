import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';

/**
 * Console transcripts in the manual, replayed. A ```console block holds commands (lines starting with `$ `, continued
 * over further lines while bash says the command is incomplete: a trailing `\`, an open quote) and, after each
 * command, the output it printed. `parseTranscript` reads them; `Shell` runs them one after the other in one bash
 * session; `compareOutput` decides whether what ran matches what the page says, under the wildcard rules below.
 */

export type Step = { line: number; command: string; expected: string[] };

/** bash -n reports an incomplete command as an unexpected end of file. */
const incomplete = (command: string): boolean => {
  const check = spawnSync('bash', ['-n'], { input: `${command}\n`, encoding: 'utf8' });
  return check.status !== 0 && /unexpected end of file|unexpected EOF/.test(check.stderr);
};

export const parseTranscript = (markdown: string): Step[] => {
  const lines = markdown.split('\n');
  const steps: Step[] = [];
  let inConsole = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!inConsole) {
      inConsole = /^```console\s*$/.test(line);
      continue;
    }
    if (/^```\s*$/.test(line)) {
      inConsole = false;
      continue;
    }
    if (line.startsWith('$ ')) {
      const start = i;
      let command = line.slice(2);
      while ((command.endsWith('\\') || incomplete(command)) && i + 1 < lines.length && !/^```/.test(lines[i + 1]!)) command += `\n${lines[++i]}`;
      steps.push({ line: start + 1, command, expected: [] });
    } else if (steps.length > 0) {
      steps.at(-1)!.expected.push(line);
    } else {
      throw new Error(`line ${i + 1}: output before the first command of a console block`);
    }
  }
  return steps;
};

/**
 * What may differ between the page and a run. Ids (UUIDs of any version: task ids, jtis, correlation ids) match any
 * id, but consistently: within one page one documented id always stands for the same id of the run, and two
 * documented ids never for one. ISO-8601 times, Unix times (ten digits: `iat`, `exp`), JWTs and the seconds left
 * in a rate-limit window (`reset=N`, `Retry-After: N`) match any value of their kind. Numbers with a fraction (similarities, scores)
 * match within a relative 0.1 %. Everything else — status codes, error codes, field names, titles, statuses,
 * counts, positions, versions, the order of lines — must be exactly what the page says.
 */
const WILDCARDS = [
  ['id', /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/],
  ['time', /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/],
  ['jwt', /eyJ[\w-]+\.[\w-]+\.[\w-]+/],
  ['window', /(?<=\breset=|^Retry-After: )\d+/],
  ['unix', /(?<![\d.])\d{10}(?![\d.])/],
  ['fraction', /(?<![\d.])-?\d+\.\d+(?:e-?\d+)?(?![\d.])/],
] as const;
type Kind = (typeof WILDCARDS)[number][0];
const TOKEN = new RegExp(WILDCARDS.map(([kind, re]) => `(?<${kind}>${re.source})`).join('|'), 'g');

type Piece = { literal: string } | { kind: Kind; value: string };

const pieces = (line: string): Piece[] => {
  const result: Piece[] = [];
  let last = 0;
  for (const match of line.matchAll(TOKEN)) {
    const kind = Object.entries(match.groups!).find(([, value]) => value !== undefined)![0] as Kind;
    result.push({ literal: line.slice(last, match.index) }, { kind, value: match[0] });
    last = match.index + match[0].length;
  }
  result.push({ literal: line.slice(last) });
  return result;
};

/** The documented ids seen so far on a page and the run's ids they stand for, both ways. */
export class IdMap {
  private readonly toRun = new Map<string, string>();
  private readonly toPage = new Map<string, string>();

  /** Why `run` cannot stand for `page`, or undefined (and the pair is remembered). */
  bind(page: string, run: string): string | undefined {
    const known = this.toRun.get(page);
    if (known !== undefined && known !== run) return `${page} stood for ${known} earlier, not ${run}`;
    const other = this.toPage.get(run);
    if (other !== undefined && other !== page) return `${run} was ${other} earlier, not ${page}`;
    this.toRun.set(page, run);
    this.toPage.set(run, page);
    return undefined;
  }
}

const sameLine = (page: string, run: string, ids: IdMap, bindings: [string, string][]): string | undefined => {
  const want = pieces(page);
  const got = pieces(run);
  if (want.length !== got.length) return 'different text';
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if ('literal' in w || 'literal' in g) {
      if (!('literal' in w && 'literal' in g && w.literal === g.literal)) return 'different text';
    } else if (w.kind !== g.kind) {
      return `a ${w.kind} where the page has a ${g.kind}`;
    } else if (w.kind === 'fraction') {
      const [a, b] = [Number(w.value), Number(g.value)];
      if (Math.abs(a - b) > 1e-3 * Math.max(Math.abs(a), Math.abs(b))) return `${g.value} is not ${w.value}`;
    } else if (w.kind === 'id') {
      bindings.push([w.value, g.value]);
    }
  }
  return undefined;
};

/** Why a command's output differs from the page's, or undefined; ids are bound only when the whole output matches. */
export const compareOutput = (expected: readonly string[], output: string, ids: IdMap): string | undefined => {
  const trimEnd = (lines: readonly string[]) => {
    const copy = lines.map((l) => l.trimEnd());
    while (copy.length > 0 && copy.at(-1) === '') copy.pop();
    return copy;
  };
  const want = trimEnd(expected);
  const got = trimEnd(output.split('\n'));
  const bindings: [string, string][] = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    const why =
      want[i] === undefined ? 'a line the page does not have' : got[i] === undefined ? 'missing' : sameLine(want[i]!, got[i]!, ids, bindings);
    if (why) return `output line ${i + 1}: ${why}\n  page: ${want[i] ?? '(nothing)'}\n  run:  ${got[i] ?? '(nothing)'}`;
  }
  for (const [page, run] of bindings) {
    const why = ids.bind(page, run);
    if (why) return `ids: ${why}`;
  }
  return undefined;
};

export type Run = { output: string; status: number };

/**
 * One bash session: commands go in one at a time through fd 3 (so stdin stays /dev/null and no command can read the
 * next one), stderr is merged into stdout, and a sentinel after each command carries its exit status and the process
 * groups of its background jobs. Job control is on, as in a terminal, so `kill %1` stops a whole job.
 */
export class Shell {
  private readonly child: ChildProcess;
  private readonly sentinel = `@@${randomUUID()}@@`;
  private buffer = '';
  private waiting: { resolve: (run: Run) => void; reject: (error: Error) => void } | undefined;
  private readonly jobs = new Set<number>();
  private exited = false;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    const loop = [
      'exec 2>&1',
      'set -m',
      `while IFS= read -r -d '' __command <&3; do`,
      '  eval "$__command"',
      '  __status=$?',
      `  printf '\\n${this.sentinel} %s %s\\n' "$__status" "$(jobs -p | tr '\\n' ,)"`,
      'done',
    ].join('\n');
    this.child = spawn('bash', ['--noprofile', '--norc', '-c', loop], { cwd, env, stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.settle();
    });
    this.child.on('exit', () => {
      this.exited = true;
      this.waiting?.reject(new Error(`bash exited; it printed: ${this.buffer}`));
    });
  }

  private settle() {
    const end = new RegExp(`\\n${this.sentinel} (\\d+) ([\\d,]*)\\n`).exec(this.buffer);
    if (!end || !this.waiting) return;
    this.jobs.clear();
    for (const pgid of end[2]!.split(',').filter(Boolean)) this.jobs.add(Number(pgid));
    const output = this.buffer.slice(0, end.index);
    this.buffer = this.buffer.slice(end.index + end[0].length);
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve({ output, status: Number(end[1]) });
  }

  run(command: string, timeoutMs: number): Promise<Run> {
    if (this.exited) return Promise.reject(new Error('bash has exited'));
    return new Promise<Run>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`no answer within ${timeoutMs} ms; so far: ${this.buffer}`));
      }, timeoutMs);
      this.waiting = {
        resolve: (run) => {
          clearTimeout(timer);
          resolve(run);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      (this.child.stdio[3] as NodeJS.WritableStream).write(`${command}\0`);
    });
  }

  /** Ends the session and the background jobs it still had (SIGTERM to each job's process group, then SIGKILL). */
  async close(): Promise<void> {
    const signal = (sig: NodeJS.Signals) => {
      for (const pgid of this.jobs) {
        try {
          process.kill(-pgid, sig);
        } catch {
          this.jobs.delete(pgid); // already gone
        }
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + 15_000;
    while (this.jobs.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      for (const pgid of this.jobs) {
        try {
          process.kill(-pgid, 0);
        } catch {
          this.jobs.delete(pgid);
        }
      }
    }
    signal('SIGKILL');
    (this.child.stdio[3] as NodeJS.WritableStream).end();
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
