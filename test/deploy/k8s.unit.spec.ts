import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';

/**
 * deploy/k8s cannot be applied here (no cluster): every object is checked against the Kubernetes JSON schemas that
 * kubernetes-models ships, and the manifests' promises (probes, storage, non-root, secrets, draining) as data.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = path.join(root, 'deploy/k8s');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = { file: string; object: any };

const yamlFiles = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const manifests: Manifest[] = yamlFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return { file, object: doc.toJS() };
  }),
);
const kustomization = manifests.find((m) => m.object.kind === 'Kustomization')!.object;
const objects = manifests.filter((m) => m.object.kind !== 'Kustomization');
const one = (kind: string) => {
  const found = objects.filter((m) => m.object.kind === kind);
  expect(found, kind).to.have.length(1);
  return found[0]!.object;
};

const validators: Record<string, (object: unknown) => void> = {
  Deployment: (o) => new Deployment(o as Deployment).validate(),
  Service: (o) => new Service(o as Service).validate(),
  ConfigMap: (o) => new ConfigMap(o as ConfigMap).validate(),
  PersistentVolumeClaim: (o) => new PersistentVolumeClaim(o as PersistentVolumeClaim).validate(),
};

const deployment = () => one('Deployment');
const pod = () => deployment().spec.template.spec;
const container = () => pod().containers[0];
const config = () => one('ConfigMap').data as Record<string, string>;
const imageTag = (image: string) => /:([^:/]+)$/.exec(image)?.[1];

describe('Kubernetes manifests (deploy/k8s)', () => {
  describe('the kustomization', () => {
    it('is a kustomize Kustomization listing every manifest of the folder once, and only files that exist', () => {
      expect(kustomization.apiVersion).to.equal('kustomize.config.k8s.io/v1beta1');
      const listed = kustomization.resources as string[];
      expect(new Set(listed).size).to.equal(listed.length);
      for (const file of listed) expect(existsSync(path.join(dir, file)), file).to.equal(true);
      expect(listed).to.have.members(yamlFiles.filter((f) => !/^kustomization\.ya?ml$/.test(f)));
    });

    it('pins the image to a version', () => {
      for (const image of kustomization.images ?? []) expect(image.newTag ?? '').to.match(/^\d+\.\d+\.\d+$/);
    });
  });

  describe('every object', () => {
    it('is of a kind checked here, one per file', () => {
      for (const { file, object } of objects) expect(Object.keys(validators), `${file}: ${object.kind}`).to.include(object.kind);
      expect(new Set(objects.map((m) => m.file)).size).to.equal(objects.length);
    });

    it('validates against the Kubernetes JSON schemas of kubernetes-models', () => {
      for (const { file, object } of objects) expect(() => validators[object.kind]!(object), file).not.to.throw();
    });

    it('is refused by those schemas once broken, so the check above can fail', () => {
      const broken = structuredClone(deployment());
      broken.spec.replicas = 'one';
      expect(() => validators.Deployment!(broken)).to.throw(/replicas must be integer/);
      delete broken.spec.selector;
      expect(() => validators.Deployment!(broken)).to.throw(/selector/);
    });
  });

  describe('the Deployment', () => {
    it('runs one replica, replaced by Recreate: one process owns the data directory', () => {
      expect(deployment().spec.replicas).to.equal(1);
      expect(deployment().spec.strategy).to.deep.equal({ type: 'Recreate' });
    });

    it('probes liveness on /health/live, readiness on /health/ready and start-up, on the container port', () => {
      const c = container();
      expect(c.livenessProbe.httpGet.path).to.equal('/health/live');
      expect(c.readinessProbe.httpGet.path).to.equal('/health/ready');
      expect(c.startupProbe.httpGet.path).to.equal('/health/live');
      const port = c.ports[0];
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) expect([port.name, port.containerPort]).to.include(probe.httpGet.port);
      expect(String(port.containerPort)).to.equal(config().VESPERA_PORT);
    });

    it('probes routes the app serves (test/api/observability/probes.int.spec.ts asks them over HTTP)', () => {
      const server = read('src/api/rest/server.ts');
      expect(server)
        .to.match(/\.get\('\/health\/live'/)
        .and.match(/\.get\('\/health\/ready'/);
    });

    it('sets requests and limits for CPU and memory', () => {
      const { requests, limits } = container().resources;
      expect(requests).to.have.keys('cpu', 'memory');
      expect(limits).to.have.keys('cpu', 'memory');
    });

    it('runs as the image’s non-root user, on a read-only root filesystem with an emptyDir for /tmp', () => {
      const user = /^USER\s+(\d+)(?::(\d+))?\s*$/m.exec(read('Dockerfile'));
      expect(user, 'a numeric USER in the Dockerfile').not.to.equal(null);
      expect(pod().securityContext).to.include({ runAsNonRoot: true, runAsUser: Number(user![1]), fsGroup: Number(user![2] ?? user![1]) });
      expect(pod().securityContext.runAsUser).to.be.above(0);
      expect(container().securityContext).to.deep.include({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      const tmp = container().volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
      expect(pod().volumes.find((v: { name: string }) => v.name === tmp?.name)).to.have.property('emptyDir');
    });

    it('mounts the PersistentVolumeClaim at VESPERA_DATA_DIR, the data directory of the image', () => {
      const claim = one('PersistentVolumeClaim');
      expect(claim.spec.accessModes).to.deep.equal(['ReadWriteOnce']);
      const volume = pod().volumes.find((v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim);
      expect(volume.persistentVolumeClaim.claimName).to.equal(claim.metadata.name);
      const mount = container().volumeMounts.find((m: { name: string }) => m.name === volume.name);
      expect(mount.mountPath).to.equal(config().VESPERA_DATA_DIR);
      expect(read('Dockerfile')).to.match(new RegExp(`VESPERA_DATA_DIR=${mount.mountPath}\\b`));
    });

    it('takes its settings from the ConfigMap and its JWT secret from a Secret, never inlined', () => {
      expect(container().envFrom).to.deep.equal([{ configMapRef: { name: one('ConfigMap').metadata.name } }]);
      const jwt = container().env.find((e: { name: string }) => e.name === 'VESPERA_JWT_SECRET');
      expect(jwt).not.to.have.property('value');
      expect(jwt.valueFrom.secretKeyRef).to.have.keys('name', 'key');
      expect(objects.map((m) => m.object.kind)).not.to.include('Secret');
      expect(Object.keys(config()).filter((k) => /SECRET|TOKEN|PASSWORD|KEY/.test(k))).to.deep.equal([]);
      for (const file of yamlFiles) expect(readFileSync(path.join(dir, file), 'utf8'), file).not.to.match(/eyJ[A-Za-z0-9_-]{8,}\./);
    });

    it('gives a stop more time than the preStop pause plus VESPERA_DRAIN_MS', () => {
      const pause = Number(container().lifecycle.preStop.exec.command[1]);
      expect(pod().terminationGracePeriodSeconds * 1000).to.be.above(pause * 1000 + Number(config().VESPERA_DRAIN_MS) + 5000);
    });

    it('injects no service links, whose VESPERA_PORT=tcp://… the configuration would refuse', () => {
      expect(pod().enableServiceLinks).to.equal(false);
    });

    it('names a pinned image, never latest', () => {
      const tag = imageTag(container().image);
      expect(tag).to.match(/^\d+\.\d+\.\d+$/);
      expect(kustomization.images.map((i: { name: string }) => i.name)).to.include(container().image.replace(/:[^:/]+$/, ''));
    });
  });

  describe('the Service', () => {
    it('targets the container port of the pods it selects', () => {
      const service = one('Service');
      const port = container().ports[0];
      expect([port.name, port.containerPort]).to.include(service.spec.ports[0].targetPort);
      expect(deployment().spec.template.metadata.labels).to.deep.include(service.spec.selector);
    });
  });
});
