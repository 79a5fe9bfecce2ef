/**
 * The layers of src/ as lint (`npm run lint`). Each folder lists the folders it may import; anything else in src/ is
 * refused, and a file outside every listed folder is refused whatever it imports, so a new folder needs a rule here
 * first. The arrows form a DAG, and `no-circular-folders` also refuses circles between the subfolders of one folder
 * (api/auth ⇄ api/catalog), and `no-circular` refuses module cycles anywhere (a decider and its rule files share
 * their types through rule.ts, not through each other).
 * Type-only imports count: a type is a dependency too. The table is in docs/architecture.md#layers.
 */

/** May be imported by everyone, and imports only each other. */
const BASE = ['^src/util/', '^src/algorithms/', '^src/errors\\.ts$', '^src/logger\\.ts$', '^src/version\\.ts$'];

/** The composition root: builds everything, and nothing imports it. */
const ROOT = ['^src/app\\.ts$', '^src/cli\\.ts$', '^src/config\\.ts$', '^src/wiring/'];

/** Folder → the folders (or files) below it that it may import, besides BASE and itself. */
const LAYERS = {
  util: [],
  algorithms: [],
  events: [],
  // The store knows the event envelope, never a domain event; it hands every event out through the schema-version
  // chain (events/upcasters.ts), which it applies without knowing what the types mean.
  eventstore: ['events/types\\.ts$', 'events/upcasters\\.ts$'],
  embeddings: [],
  // Generic queue machinery, scheduled services and job handlers that take their dependencies as parameters.
  jobs: ['embeddings'],
  commands: ['events', 'eventstore'],
  projections: ['events', 'eventstore', 'embeddings'],
  queries: ['events', 'projections', 'embeddings'],
  api: ['events', 'commands', 'queries', 'projections', 'jobs'],
};

const below = (folders) => folders.map((f) => `^src/${f.includes('\\.') ? f : `${f}/`}`);
const KNOWN = [...BASE, ...ROOT, ...Object.keys(LAYERS).map((f) => `^src/${f}/`)];

const layerRules = Object.entries(LAYERS).map(([folder, allowed]) => ({
  name: `layer-${folder}`,
  severity: 'error',
  comment: `src/${folder}/ may import only ${[...allowed, 'util/', 'algorithms/', 'errors.ts', 'logger.ts', 'version.ts'].join(', ')} (docs/architecture.md#layers).`,
  from: { path: `^src/${folder}/` },
  to: { path: KNOWN, pathNot: [`^src/${folder}/`, ...below(allowed), ...BASE, ...ROOT] },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'layer-base',
      severity: 'error',
      comment: 'errors.ts, logger.ts and version.ts sit at the bottom: they import only util/ and algorithms/ and each other.',
      from: { path: '^src/(errors|logger|version)\\.ts$' },
      to: { path: KNOWN, pathNot: BASE },
    },
    {
      name: 'no-import-of-composition-root',
      severity: 'error',
      comment: 'app.ts, cli.ts, config.ts and wiring/ build the process; only they import each other. Pass what a module needs in as a parameter.',
      from: { path: '^src/', pathNot: ROOT },
      to: { path: ROOT },
    },
    {
      name: 'layer-unknown-folder',
      severity: 'error',
      comment: 'This file is in no layer: add its folder to LAYERS in .dependency-cruiser.cjs (and to docs/architecture.md#layers).',
      from: { path: '^src/', pathNot: KNOWN },
      to: {},
    },
    {
      name: 'layer-unknown-target',
      severity: 'error',
      comment: 'The imported file is in no layer: add its folder to LAYERS in .dependency-cruiser.cjs (and to docs/architecture.md#layers).',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: KNOWN },
    },
    {
      name: 'pure-no-io',
      severity: 'error',
      comment: 'Events and algorithms are pure data and functions: no packages, no node built-ins.',
      from: { path: '^src/(events|algorithms)/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown', 'core'] },
    },
    {
      name: 'no-circular-folders',
      severity: 'error',
      comment: 'Folders must not depend on each other in a circle (e.g. jobs/ → projections/ → jobs/): one of them is in the wrong layer.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules must not import each other in a circle: move what both need into a module below them.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
