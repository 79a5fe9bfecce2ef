import fs from 'node:fs';
import { Argument, InvalidArgumentError, Option, type Command, type CommanderError } from 'commander';
import { ConfigError } from '../errors.js';
import { PRIORITIES, TASK_STATUSES } from '../events/vocabulary.js';
import { httpClient, Refusal, Unreachable, type HttpClient } from './httpClient.js';
import { table, taskLines, taskTable, usageTable, searchTable, type Page, type SearchAnswer, type Task, type UsageAnswer } from './tasksOutput.js';

/**
 * The task commands of `vespera` (ready, list, show, create, claim, heartbeat, done, status, dep, search, usage): each
 * one request or a few to a running server through httpClient.ts, printed as a table or, with --json, as the REST
 * answer. Exit 0 ok, 1 refused (the problem's code and detail on stderr), 2 usage, 3 no server to talk to.
 */

export type TaskCliDeps = Readonly<{
  /** The data directory (--data-dir or VESPERA_DATA_DIR), resolved only when a command runs. */
  dataDir: () => string;
  env?: NodeJS.ProcessEnv;
}>;

/** A usage problem the flags cannot express to commander (exit 2). */
class UsageError extends Error {}

type Outcome = { json: unknown; text: string; note?: string; exitCode?: number };
type Work = (client: Pick<HttpClient, 'request' | 'requestText'>) => Promise<Outcome>;

const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

const integer = (min: number, max: number) => (value: string) => {
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max)
    throw new InvalidArgumentError(`It takes a whole number from ${min} to ${max}.`);
  return Number(value);
};
const hours = (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('It takes hours, a number from 0.');
  return n;
};
/** Repeated, space- or comma-separated values of a variadic option, in one list. */
const list = (values: readonly string[] | undefined): string[] | undefined =>
  values === undefined ? undefined : values.flatMap((v) => v.split(',')).filter((v) => v !== '');
const defined = <T extends Record<string, unknown>>(object: T): Partial<T> =>
  Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
const path = (id: string) => encodeURIComponent(id);

export const registerTaskCommands = (program: Command, deps: TaskCliDeps): void => {
  const env = deps.env ?? process.env;

  /** Runs one command's requests; prints the answer (or the refusal) and sets the exit code. */
  const execute = async (json: boolean | undefined, work: Work): Promise<void> => {
    try {
      // Made at the first request, so a usage error found first exits 2 even when no server runs.
      let client: HttpClient | undefined;
      const connected = () => (client ??= httpClient({ dataDir: deps.dataDir(), env }));
      const outcome = await work({ request: (...args) => connected().request(...args), requestText: (...args) => connected().requestText(...args) });
      process.stdout.write(json ? `${JSON.stringify(outcome.json)}\n` : outcome.text ? `${outcome.text}\n` : '');
      // Under --json the answer says it all (counts, cursors, warnings): stderr stays empty for scripts.
      if (outcome.note && !json) process.stderr.write(`${outcome.note}\n`);
      process.exitCode = outcome.exitCode ?? EXIT.ok;
    } catch (error) {
      if (error instanceof Refusal) {
        if (json) process.stdout.write(`${JSON.stringify(error.problem)}\n`);
        const hint = typeof error.problem.hint === 'string' ? `\n${error.problem.hint}` : '';
        process.stderr.write(`${error.code} ${error.detail}${hint}\n`);
        process.exitCode = EXIT.refused;
      } else if (error instanceof Unreachable) {
        process.stderr.write(`${error.message}\n`);
        process.exitCode = EXIT.unreachable;
      } else if (error instanceof ConfigError || error instanceof UsageError) {
        process.stderr.write(`${error.message}\n`);
        process.exitCode = EXIT.usage;
      } else throw error;
    }
  };

  /** A task command: --json, and commander's usage errors exit 2 (its --help still exits 0). */
  const command = (parent: Command, nameAndArgs: string, description: string): Command =>
    parent
      .command(nameAndArgs)
      .description(description)
      .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage))
      .option('--json', 'print the REST answer as JSON on stdout');

  command(program, 'ready', 'Tasks ready to start, highest priority first (GET /tasks/ready)')
    .option('--project <id>', 'only this project')
    .option('--role <name>', 'only tasks this role could claim')
    .option('--limit <n>', 'at most this many (1–200, default 20)', integer(1, 200))
    .option('--cursor <cursor>', 'the next page (nextCursor of the previous one)')
    .action((opts: { project?: string; role?: string; limit?: number; cursor?: string; json?: boolean }) =>
      execute(opts.json, async (client) => {
        const page = await client.request<Page>('GET', '/tasks/ready', {
          query: { projectId: opts.project, role: opts.role, limit: opts.limit, cursor: opts.cursor },
        });
        return { json: page, ...taskTable(page, 'ready') };
      }),
    );

  command(program, 'list', 'Tasks with filters, sorted and paginated (GET /tasks)')
    .option('--project <id>', 'only this project')
    .addOption(new Option('--status <status...>', 'any of these statuses (repeat, or a comma list)'))
    .addOption(new Option('--priority <priority...>', 'any of these priorities (repeat, or a comma list)'))
    .option('--parent <id>', 'only the children of this task')
    .option('--top-level', 'only tasks without a parent')
    .option('--role <name>', 'assigned to this role')
    .option('--tag <tag>', 'has this tag')
    .option('--ready', 'only ready tasks')
    .option('--text <words>', 'words in the title, description or tags')
    .option('--sort <order>', 'createdAt, updatedAt, priority or title; a leading - reverses')
    .option('--limit <n>', 'at most this many (1–200, default 20)', integer(1, 200))
    .option('--cursor <cursor>', 'the next page (nextCursor of the previous one)')
    .action(
      (opts: {
        project?: string;
        status?: string[];
        priority?: string[];
        parent?: string;
        topLevel?: boolean;
        role?: string;
        tag?: string;
        ready?: boolean;
        text?: string;
        sort?: string;
        limit?: number;
        cursor?: string;
        json?: boolean;
      }) =>
        execute(opts.json, async (client) => {
          const page = await client.request<Page>('GET', '/tasks', {
            query: {
              projectId: opts.project,
              status: list(opts.status),
              priority: list(opts.priority),
              parentId: opts.parent,
              topLevel: opts.topLevel,
              role: opts.role,
              tag: opts.tag,
              ready: opts.ready,
              q: opts.text,
              sort: opts.sort,
              limit: opts.limit,
              cursor: opts.cursor,
            },
          });
          return { json: page, ...taskTable(page, 'list') };
        }),
    );

  command(program, 'show <id>', 'One task with all its fields (GET /tasks/:id)').action((id: string, opts: { json?: boolean }) =>
    execute(opts.json, async (client) => {
      const task = await client.request<Task>('GET', `/tasks/${path(id)}`);
      return { json: task, text: taskLines(task) };
    }),
  );

  command(program, 'create <title>', 'Create a task (POST /tasks), then its dependencies (POST /tasks/:id/dependencies)')
    .option('--project <id>', 'project (default: the parent’s, else `default`)')
    .option('--parent <id>', 'parent task')
    .addOption(new Option('--priority <priority>', 'priority (default normal)').choices(PRIORITIES))
    .option('--estimate <hours>', 'estimate in hours', hours)
    .option('--description <text>', 'longer description (Markdown)')
    .option('--tags <tag...>', 'tags (repeat, or a comma list)')
    .option('--files <path...>', 'paths or globs the work touches (repeat, or a comma list)')
    .option('--depends-on <id...>', 'hard dependencies on these tasks (repeat, or a comma list)')
    .action(
      (
        title: string,
        opts: {
          project?: string;
          parent?: string;
          priority?: string;
          estimate?: number;
          description?: string;
          tags?: string[];
          files?: string[];
          dependsOn?: string[];
          json?: boolean;
        },
      ) =>
        execute(opts.json, async (client) => {
          const body = defined({
            title,
            projectId: opts.project,
            parentId: opts.parent,
            priority: opts.priority,
            estimate: opts.estimate,
            description: opts.description,
            tags: list(opts.tags),
            files: list(opts.files),
          });
          const created = await client.request<Task & { possibleDuplicates?: Array<{ id: string; title: string; similarity: number }> }>(
            'POST',
            '/tasks',
            { body },
          );
          const duplicates = (created.possibleDuplicates ?? []).map((d) => `possible duplicate: ${d.id} ${d.title} (${d.similarity.toFixed(2)})`);
          const dependsOn = list(opts.dependsOn) ?? [];
          if (dependsOn.length === 0)
            return {
              json: created,
              text: `Created ${created.id} in ${created.projectId}: ${created.title}`,
              note: duplicates.join('\n') || undefined,
            };
          const dependencies: unknown[] = [];
          for (const target of dependsOn) {
            try {
              dependencies.push(
                await client.request('POST', `/tasks/${path(created.id)}/dependencies`, { body: { dependsOn: target, kind: 'hard' } }),
              );
            } catch (error) {
              // The task exists: say so before the refusal, so nobody creates it twice.
              if (error instanceof Refusal) process.stderr.write(`Created ${created.id}, but its dependency on ${target} was refused:\n`);
              throw error;
            }
          }
          const task = await client.request<Task>('GET', `/tasks/${path(created.id)}`);
          return {
            json: { ...created, ...task, dependencies },
            text: `Created ${task.id} in ${task.projectId}: ${task.title}\n  depends on ${dependsOn.join(', ')}${task.ready ? ' (ready)' : ''}`,
            note: duplicates.join('\n') || undefined,
          };
        }),
    );

  command(program, 'claim [id]', 'Claim a task with a lease (POST /tasks/:id/claim), or the best ready one for a role (POST /tasks/claim-next)')
    .option('--role <name>', 'the role to claim as (claim-next needs one; default VESPERA_ROLE)')
    .option('--project <id>', 'claim-next: only in this project')
    .option('--agent <id>', 'who holds the claim (default: the token’s plugin)')
    .option('--lease <seconds>', 'lease length (10–86400, default 900)', integer(10, 86_400))
    .option('--force', 'claim by id even though another agent holds some of its files')
    .action((id: string | undefined, opts: { role?: string; project?: string; agent?: string; lease?: number; force?: boolean; json?: boolean }) =>
      execute(opts.json, async (client) => {
        const role = opts.role ?? (env.VESPERA_ROLE?.trim() || undefined);
        if (id === undefined && role === undefined)
          throw new UsageError('claim without a task id claims the best ready task for a role: give --role (or set VESPERA_ROLE).');
        if (id === undefined && opts.force) throw new UsageError('--force applies to a claim by task id.');
        if (id !== undefined && opts.project !== undefined) throw new UsageError('--project applies to a claim without a task id.');
        const common = defined({ role, agent: opts.agent, leaseSeconds: opts.lease });
        const answer =
          id === undefined
            ? await client.request<ClaimAnswer>('POST', '/tasks/claim-next', { body: { ...common, ...defined({ projectId: opts.project }) } })
            : await client.request<ClaimAnswer>('POST', `/tasks/${path(id)}/claim`, { body: { ...common, ...defined({ force: opts.force }) } });
        const skipped = (answer.skipped ?? []).map((s) => `skipped ${s.taskId}: ${s.holder} holds ${s.files.join(', ')}`);
        if (!answer.claimed || !answer.task)
          return {
            json: answer,
            text: '',
            note: [...skipped, `Nothing to claim${role ? ` for role ${role}` : ''}.`].join('\n'),
            exitCode: EXIT.refused,
          };
        const t = answer.task;
        return {
          json: answer,
          text: `Claimed ${t.id}: ${t.title}\n  by ${t.claimedBy ?? '?'} until ${t.leaseExpiresAt ?? '?'}`,
          note: skipped.join('\n') || undefined,
        };
      }),
    );

  command(program, 'heartbeat <id>', 'Extend your lease on a claimed task (POST /tasks/:id/heartbeat)')
    .option('--note <text>', 'your status note, shown on the task ("" clears it)')
    .option('--agent <id>', 'who holds the claim (default: the token’s plugin)')
    .option('--lease <seconds>', 'new lease length from now (10–86400, default 900)', integer(10, 86_400))
    .action((id: string, opts: { note?: string; agent?: string; lease?: number; json?: boolean }) =>
      execute(opts.json, async (client) => {
        const answer = await client.request<{ taskId: string; leaseExpiresAt: string }>('POST', `/tasks/${path(id)}/heartbeat`, {
          body: defined({ note: opts.note, agent: opts.agent, leaseSeconds: opts.lease }),
        });
        return { json: answer, text: `Lease on ${answer.taskId} extended until ${answer.leaseExpiresAt}` };
      }),
    );

  command(program, 'done <id>', 'Complete your claimed task with its output (POST /tasks/:id/complete)')
    .option('--output <text>', 'what was done (Markdown)')
    .option('--output-file <file>', 'the output read from a file (- for stdin)')
    .option('--changed-files <path...>', 'files changed, checked against the role’s patterns (repeat, or a comma list)')
    .option('--artifacts <path...>', 'paths or URLs produced (repeat, or a comma list)')
    .option('--agent <id>', 'who holds the claim (default: the token’s plugin)')
    .action(
      (id: string, opts: { output?: string; outputFile?: string; changedFiles?: string[]; artifacts?: string[]; agent?: string; json?: boolean }) =>
        execute(opts.json, async (client) => {
          if (opts.output !== undefined && opts.outputFile !== undefined) throw new UsageError('Give --output or --output-file, not both.');
          let output = opts.output;
          if (opts.outputFile !== undefined) {
            try {
              output = fs.readFileSync(opts.outputFile === '-' ? 0 : opts.outputFile, 'utf8');
            } catch (error) {
              throw new UsageError(`--output-file ${opts.outputFile} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
            }
          }
          const answer = await client.request<{ task: Task; unblocked: string[]; warnings: string[] }>('POST', `/tasks/${path(id)}/complete`, {
            body: defined({ output, changedFiles: list(opts.changedFiles), artifacts: list(opts.artifacts), agent: opts.agent }),
          });
          // A role that requires approval sends work outside its patterns to review instead of refusing it.
          const verb = answer.task.status === 'review' ? 'Sent to review' : 'Completed';
          const lines = [`${verb} ${answer.task.id}: ${answer.task.title}`];
          if (answer.unblocked.length > 0) lines.push(`  now ready: ${answer.unblocked.join(', ')}`);
          return { json: answer, text: lines.join('\n'), note: answer.warnings.map((w) => `warning: ${w}`).join('\n') || undefined };
        }),
    );

  command(program, 'status <id>', 'Move a task along the status table (POST /tasks/:id/status)')
    .addArgument(new Argument('<status>', 'the new status').choices(TASK_STATUSES))
    .option('--reason <text>', 'why, kept in the history')
    .action((id: string, status: string, opts: { reason?: string; json?: boolean }) =>
      execute(opts.json, async (client) => {
        const task = await client.request<Task & { unblocked?: string[] }>('POST', `/tasks/${path(id)}/status`, {
          body: defined({ status, reason: opts.reason }),
        });
        const lines = [`${task.id} is ${task.status}: ${task.title}`];
        if (task.unblocked?.length) lines.push(`  now ready: ${task.unblocked.join(', ')}`);
        return { json: task, text: lines.join('\n') };
      }),
    );

  const dep = program
    .command('dep')
    .description('Dependencies between tasks: add or rm')
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage));
  command(dep, 'add <task> <dependsOn>', 'TASK waits for DEPENDSON (POST /tasks/:id/dependencies; hard unless --soft)')
    .option('--soft', 'a reminder that warns but never blocks')
    .action((task: string, dependsOn: string, opts: { soft?: boolean; json?: boolean }) =>
      execute(opts.json, async (client) => {
        const answer = await client.request<{ taskId: string; dependsOn: string; kind: string; ready?: boolean }>(
          'POST',
          `/tasks/${path(task)}/dependencies`,
          { body: { dependsOn, kind: opts.soft ? 'soft' : 'hard' } },
        );
        const ready = answer.ready === undefined ? '' : answer.ready ? ' (still ready)' : ' (not ready)';
        return { json: answer, text: `${answer.taskId} depends on ${answer.dependsOn} (${answer.kind})${ready}` };
      }),
    );
  command(dep, 'rm <task> <dependsOn>', 'TASK no longer waits for DEPENDSON (DELETE /tasks/:id/dependencies/:dependsOn)').action(
    (task: string, dependsOn: string, opts: { json?: boolean }) =>
      execute(opts.json, async (client) => {
        const answer = await client.request<{ taskId: string; dependsOn: string; ready?: boolean }>(
          'DELETE',
          `/tasks/${path(task)}/dependencies/${path(dependsOn)}`,
        );
        return { json: answer, text: `${answer.taskId} no longer depends on ${answer.dependsOn}${answer.ready ? ' (ready)' : ''}` };
      }),
  );

  command(program, 'search <query>', 'Tasks by meaning and by words (GET /search)')
    .option('--project <id>', 'only this project')
    .addOption(new Option('--mode <mode>', 'ranking (default hybrid)').choices(['hybrid', 'keyword', 'semantic']))
    .addOption(new Option('--status <status...>', 'any of these statuses (repeat, or a comma list)'))
    .option('--limit <n>', 'at most this many (1–100, default 20)', integer(1, 100))
    .option('--cursor <cursor>', 'the next page (nextCursor of the previous one)')
    .action((q: string, opts: { project?: string; mode?: string; status?: string[]; limit?: number; cursor?: string; json?: boolean }) =>
      execute(opts.json, async (client) => {
        const answer = await client.request<SearchAnswer>('GET', '/search', {
          query: { q, projectId: opts.project, mode: opts.mode, status: list(opts.status), limit: opts.limit, cursor: opts.cursor },
        });
        return { json: answer, ...searchTable(answer) };
      }),
    );

  command(program, 'graph', 'A project’s dependency graph, critical path marked (GET /projects/:id/graph)')
    .option('--project <id>', 'the project (default `default`)', 'default')
    .addOption(new Option('--format <format>', 'mermaid (default), dot, svg or json').choices(['mermaid', 'dot', 'svg', 'json']))
    .option('--out <file>', 'write the picture to this file instead of stdout')
    .action((opts: { project: string; format?: string; out?: string; json?: boolean }) =>
      execute(opts.json, async (client) => {
        const format = opts.json ? 'json' : (opts.format ?? 'mermaid');
        if (opts.json && opts.format && opts.format !== 'json')
          throw new UsageError('--json prints the graph as JSON: leave out --format, or drop --json.');
        const { text } = await client.requestText('GET', `/projects/${path(opts.project)}/graph`, { query: { format } });
        const written = writeOut(opts.out, text);
        return {
          json: format === 'json' ? (JSON.parse(text) as unknown) : text,
          text: written ? '' : text.replace(/\n$/, ''),
          ...(written ? { note: written } : {}),
        };
      }),
    );

  command(program, 'import <system> <file>', 'Import a Taskmaster tasks.json or a Beads issues.jsonl (POST /import/taskmaster|beads)')
    .option('--tag <tag>', 'Taskmaster: only this tag')
    .option('--project <id>', 'into this project (default: a project per tag, or the Beads id prefix)')
    .option('--dry-run', 'report what the import would do, write nothing')
    .option('--skip-missing', 'leave out references to ids the file does not hold instead of refusing')
    .action((system: string, file: string, opts: { tag?: string; project?: string; dryRun?: boolean; skipMissing?: boolean; json?: boolean }) =>
      execute(opts.json, async (client) => {
        if (system !== 'taskmaster' && system !== 'beads') throw new UsageError(`Import from taskmaster or beads, not ${JSON.stringify(system)}.`);
        if (opts.tag && system !== 'taskmaster') throw new UsageError('--tag is for Taskmaster files.');
        const content = readIn(file);
        const answer = await client.request<ImportAnswer>('POST', `/import/${system}`, {
          body: defined({ content, tag: opts.tag, projectId: opts.project, dryRun: opts.dryRun, skipMissing: opts.skipMissing }),
        });
        return { json: answer, ...importTable(answer) };
      }),
    );

  command(program, 'export', 'A project as a Taskmaster tasks.json or a Beads issues.jsonl (GET /projects/:id/export)')
    .option('--project <id>', 'the project (default `default`)', 'default')
    .addOption(new Option('--format <format>', 'taskmaster or beads').choices(['taskmaster', 'beads']).makeOptionMandatory())
    .option('--out <file>', 'write the file here instead of stdout')
    .action((opts: { project: string; format: string; out?: string; json?: boolean }) =>
      execute(opts.json, async (client) => {
        const { text } = await client.requestText('GET', `/projects/${path(opts.project)}/export`, { query: { format: opts.format } });
        const written = writeOut(opts.out, text);
        return {
          json: {
            projectId: opts.project,
            format: opts.format,
            bytes: Buffer.byteLength(text),
            ...(opts.out ? { file: opts.out } : { content: text }),
          },
          text: written ? '' : text.replace(/\n$/, ''),
          ...(written ? { note: written } : {}),
        };
      }),
    );

  command(program, 'usage', 'A project’s reported usage (tokens, cost) and time in progress (GET /projects/:id/usage)')
    .option('--project <id>', 'the project (default `default`)', 'default')
    .option('--by <group>', 'break the totals down by task, agent, role or model (default task)')
    .option('--limit <n>', 'at most this many rows (1–200, default 50)', integer(1, 200))
    .option('--cursor <cursor>', 'the next page (nextCursor of the previous one)')
    .action((opts: { project: string; by?: string; limit?: number; cursor?: string; json?: boolean }) =>
      execute(opts.json, async (client) => {
        const answer = await client.request<UsageAnswer>('GET', `/projects/${path(opts.project)}/usage`, {
          query: { by: opts.by, limit: opts.limit, cursor: opts.cursor },
        });
        return { json: answer, ...usageTable(answer) };
      }),
    );
};

type ClaimAnswer = {
  claimed: boolean;
  task: Task | null;
  skipped?: Array<{ taskId: string; files: string[]; holder: string }>;
};

/** A file the command reads (`-` is stdin); one it cannot read is a usage problem, exit 2. */
const readIn = (file: string): string => {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
};

/** Writes `text` to `file` when one is named, and says so; undefined when the text goes to stdout. */
const writeOut = (file: string | undefined, text: string): string | undefined => {
  if (!file) return undefined;
  fs.writeFileSync(file, text);
  return `Wrote ${Buffer.byteLength(text).toLocaleString('en-US')} bytes to ${file}.`;
};

type ImportAnswer = {
  system: string;
  dryRun: boolean;
  position: number | null;
  projects: Array<{
    projectId: string;
    tag?: string;
    projectCreated: boolean;
    tasks: { inFile: number; created: number; updated: number; unchanged: number };
    dependencies: { inFile: number; added: number };
    links: { inFile: number; added: number };
    skippedCount: number;
  }>;
};

const importTable = (answer: ImportAnswer): Pick<Outcome, 'text' | 'note'> => ({
  text: table(
    ['project', 'tasks in file', 'created', 'updated', 'unchanged', 'dependencies added', 'links added', 'skipped'],
    answer.projects.map((p) => [
      `${p.projectId}${p.projectCreated ? ' (new)' : ''}`,
      String(p.tasks.inFile),
      String(p.tasks.created),
      String(p.tasks.updated),
      String(p.tasks.unchanged),
      String(p.dependencies.added),
      String(p.links.added),
      String(p.skippedCount),
    ]),
  ),
  note: answer.dryRun
    ? 'Dry run: nothing was written.'
    : `Imported from ${answer.system}${answer.position === null ? '; nothing to change' : ` up to position ${answer.position}`}.`,
});
