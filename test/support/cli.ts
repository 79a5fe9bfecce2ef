import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, where `src/cli.ts` lives. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type CliRun = { code: number | null; stdout: string; stderr: string };

/**
 * Runs `vespera ARGS…` to completion as its own process on `dataDir`, as an operator would: none of the test
 * run's own VESPERA_* settings (nor EVENTSTORE_URL) leak into it.
 */
export const runCli = (args: string[], dataDir: string, extraEnv: Record<string, string> = {}): Promise<CliRun> =>
  new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_') && k !== 'EVENTSTORE_URL'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: REPO,
      env: { ...env, VESPERA_DATA_DIR: dataDir, VESPERA_LOG_LEVEL: 'silent', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
