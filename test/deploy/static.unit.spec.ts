import { readFileSync } from 'node:fs';
import { expect } from 'chai';

/** The deployment files cannot run here (no Docker engine), so their promises are checked as text. */
const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

const withoutComments = (text: string) =>
  text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');

/** Top-level blocks of a YAML mapping at `indent` spaces: name → the lines under it. Enough for compose files. */
const blocksAt = (lines: readonly string[], indent: number): Map<string, string[]> => {
  const blocks = new Map<string, string[]>();
  let current: string[] | undefined;
  const key = new RegExp(`^ {${indent}}([A-Za-z0-9_.-]+):\\s*(#.*)?$`);
  for (const line of lines) {
    if (line.trim() === '' || /^\s*#/.test(line)) continue;
    const leading = line.length - line.trimStart().length;
    const match = key.exec(line);
    if (match) blocks.set(match[1]!, (current = []));
    else if (leading > indent) current?.push(line);
    else current = undefined;
  }
  return blocks;
};

const jwtLiteral = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;
const secretAssignment = /(JWT_SECRET|PASSWORD|API_KEY|TOKEN)\s*[=:]\s*["']?[^\s"'$]{4,}/i;

describe('Deployment files', () => {
  describe('docker-compose.yml', () => {
    const lines = read('docker-compose.yml').split('\n');
    const top = blocksAt(lines, 0);
    const services = blocksAt(top.get('services') ?? [], 2);
    const service = (name: string) => (services.get(name) ?? []).join('\n');
    const declaredVolumes = [...blocksAt(top.get('volumes') ?? [], 2).keys()];

    it('declares vespera, kurrentdb, redis and chroma', () => {
      expect([...services.keys()]).to.include.members(['vespera', 'kurrentdb', 'redis', 'chroma']);
    });

    it('gives every service a health check with a test', () => {
      for (const name of services.keys()) {
        expect(service(name), name)
          .to.match(/^ {4}healthcheck:/m)
          .and.match(/^ {6}test:/m);
      }
    });

    it('builds Vespera from this repository, on port 3000, with its data on a volume', () => {
      const vespera = service('vespera');
      expect(vespera).to.match(/^ {4}build: \.\s*$/m);
      expect(vespera).to.match(/- "?3000:3000"?/);
      expect(vespera).to.match(/- [a-z0-9-]+:\/data\b/);
      expect(vespera).to.match(/VESPERA_EVENT_STORE: eventstoredb/);
      expect(vespera).to.match(/EVENTSTORE_URL: kurrentdb:\/\/kurrentdb:2113\?tls=false/);
      expect(vespera).to.match(/REDIS_URL: redis:\/\/redis:6379/);
      expect(vespera).to.match(/CHROMA_URL: http:\/\/chroma:8000/);
    });

    it('starts Vespera only once its dependencies are healthy', () => {
      const dependsOn = blocksAt(blocksAt(services.get('vespera') ?? [], 4).get('depends_on') ?? [], 6);
      expect([...dependsOn.keys()]).to.have.members(['kurrentdb', 'redis', 'chroma']);
      for (const [name, body] of dependsOn) expect(body.join('\n'), name).to.match(/condition: service_healthy/);
    });

    it('uses the official images for the companions', () => {
      expect(service('kurrentdb')).to.match(/image: docker\.kurrent\.io\/kurrent-latest\/kurrentdb:/);
      expect(service('kurrentdb')).to.match(/KURRENTDB_INSECURE: "?true"?/);
      expect(service('redis')).to.match(/image: redis:7\.\d+\.\d+-alpine/);
      expect(service('chroma')).to.match(/image: chromadb\/chroma/);
    });

    it('pins every image to a released version: no latest, no bare name, and Vespera at the package version', () => {
      const images = [...services.keys()].map((name) => [name, /^ {4}image:\s*(\S+)\s*$/m.exec(service(name))?.[1]] as const);
      for (const [name, image] of images) {
        expect(image, `${name} names an image`).to.be.a('string');
        const tag = /:([^:/]+)$/.exec(image!)?.[1];
        expect(tag, `${name}: ${image}`).to.match(/^v?\d+\.\d+\.\d+([.-][\w.]+)?$/);
      }
      const { version } = JSON.parse(read('package.json')) as { version: string };
      expect(service('vespera')).to.match(new RegExp(`^ {4}image: vespera:${version.replace(/\./g, '\\.')}$`, 'm'));
    });

    it('declares every named volume a service mounts', () => {
      const mounted = lines.flatMap((line) => /^\s+- ([a-z][a-z0-9_-]*):\//.exec(line)?.slice(1) ?? []);
      expect(mounted).to.include.members(['vespera-data', 'kurrentdb-data', 'redis-data', 'chroma-data']);
      expect(declaredVolumes).to.include.members(mounted);
    });

    it('holds no secrets', () => {
      const text = withoutComments(read('docker-compose.yml'));
      expect(text).not.to.match(jwtLiteral);
      expect(text).not.to.match(secretAssignment);
    });
  });

  describe('Dockerfile', () => {
    const text = withoutComments(read('Dockerfile'));
    const instructions = text.split('\n').filter((line) => /^[A-Z]+\s/.test(line));
    const froms = instructions.filter((line) => line.startsWith('FROM '));
    const runtime = text.slice(text.lastIndexOf('\nFROM '));

    it('is multi-stage: a build stage and a runtime stage on Node 20', () => {
      expect(froms).to.have.length.of.at.least(2);
      for (const from of froms) expect(from).to.match(/^FROM node:20[-\w.]*/);
      expect(froms[0]).to.match(/ AS build$/i);
      expect(runtime).to.match(/COPY --from=build\b.*\bdist\b/);
    });

    it('runs as a non-root user', () => {
      const users = instructions.filter((line) => line.startsWith('USER '));
      expect(users.length, 'USER instructions').to.be.greaterThan(0);
      expect(users.at(-1)).not.to.match(/^USER\s+(root|0)(:|\s|$)/);
      expect(runtime).to.match(/^USER /m);
    });

    it('serves the compiled CLI without dev dependencies, with a health check and a data volume', () => {
      expect(text).to.match(/npm prune --omit=dev/);
      expect(runtime).to.match(/^HEALTHCHECK .*\/health/ms);
      expect(runtime).to.match(/^CMD \["node", "dist\/cli\.js", "serve"\]$/m);
      expect(runtime).to.match(/^VOLUME \["?\/data"?\]?$/m);
      expect(runtime).to.match(/^EXPOSE 3000$/m);
      expect(runtime).not.to.match(/\btsx\b/);
    });

    it('caps glibc malloc arenas (MALLOC_ARENA_MAX=2), as `npm start` does, so resident memory stays level under load', () => {
      expect(runtime).to.match(/^ENV [^]*\bMALLOC_ARENA_MAX=2\b/m);
      expect((JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start).to.match(/^MALLOC_ARENA_MAX=2 /);
    });

    it('holds no secrets', () => {
      expect(text).not.to.match(jwtLiteral);
      expect(text).not.to.match(secretAssignment);
    });
  });

  describe('.ci/run', () => {
    const script = read('.ci/run');
    const commands = withoutComments(script);

    it('is strict bash', () => {
      expect(script).to.match(/^#!\/usr\/bin\/env bash\n/);
      expect(script).to.match(/^set -euo pipefail$/m);
    });

    it('installs, type-checks, lints and runs the tests, in that order', () => {
      const steps = ['npm ci', 'npm run typecheck', 'npm run lint', 'npm test'].map((step) => commands.search(new RegExp(`^${step}\\b`, 'm')));
      for (const index of steps) expect(index).to.be.greaterThan(-1);
      expect(steps).to.deep.equal([...steps].sort((a, b) => a - b));
    });

    it('runs the test command the README gives', () => {
      const quickStart = /## Quick start[\s\S]*?(?=\n## )/.exec(read('README.md'))?.[0] ?? '';
      expect(quickStart).to.include('npm ci && npm start').and.include('npm test');
    });
  });
});
