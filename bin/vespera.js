#!/usr/bin/env node
// Inside the repository checkout (src/ and tsx present) this runs the TypeScript sources through tsx, so a dist/ left
// by an earlier `npm run build` or `npm pack` can never run stale code. Anywhere else — an installed package
// (`npm i -g vespera-*.tgz`), the Docker image — it runs the compiled dist/cli.js with plain Node, no tsx.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const sources = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const compiled = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const tsx = (() => {
  try {
    return createRequire(import.meta.url).resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
})();

if (existsSync(sources) && tsx) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(sources).href);
} else if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  console.error(`vespera: ${compiled} is missing; in a checkout run \`npm ci\` (tsx runs the sources) or \`npm run build\`.`);
  process.exit(1);
}
