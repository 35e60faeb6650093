// The owner's rendered manifests carry every hardened field the deployment
// relies on (ADR 0001, issue 10): the pod's security contexts, no API token
// and no RBAC, one Recreate replica, probes that never look past the event
// loop for liveness, the scripts mounted as a tree, Guaranteed resources, a
// NetworkPolicy that allows exactly what the daemon needs, the namespace's
// Pod Security labels, and the restart rules around Secrets and scripts.
// Addresses and names come from ci/owner-values.yaml, not from this file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { CHART, CI_DIR, only, render, renderNotes } from '../../lib/helm.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const OWNER_FILE = join(CI_DIR, 'owner-values.yaml');
const owner = parse(readFileSync(OWNER_FILE, 'utf8'));
const defaults = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
// The owner's values create the namespace, so Helm's record lives in default.
const objects = render({ files: [OWNER_FILE], namespace: 'default' });
const deployment = only(objects, 'Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const envOf = (c) => Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]));
const env = envOf(container);

const root = scratchDir('chart-manifests-test');

describe('the owner pod', () => {
  test('has one container, from the chart appVersion image', () => {
    assert.equal(pod.containers.length, 1);
    assert.equal(pod.initContainers, undefined);
    assert.equal(container.image, 'localhost/breakglass:0.1.0');
    assert.deepEqual(container.args, ['serve']);
    assert.equal(container.command, undefined, 'the image entrypoint runs');
  });

  test('pod securityContext: non-root numeric uid/gid 65532, fsGroup, RuntimeDefault seccomp', () => {
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test('container securityContext: read-only root, no privilege escalation, no capabilities', () => {
    assert.deepEqual(container.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test('no service account token, no host namespaces, no service links', () => {
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(only(objects, 'ServiceAccount').automountServiceAccountToken, false);
    assert.equal(pod.serviceAccountName, only(objects, 'ServiceAccount').metadata.name);
    for (const k of ['hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace']) assert.equal(pod[k], undefined, k);
    assert.equal(pod.enableServiceLinks, false, 'service links would add BREAKGLASS_PORT=tcp://... to the environment');
  });

  test('no Role, RoleBinding, ClusterRole or ClusterRoleBinding at all', () => {
    const rbac = objects.filter((o) => o.apiVersion.startsWith('rbac.authorization.k8s.io/'));
    assert.deepEqual(rbac.map((o) => o.kind), []);
  });

  test('1 replica, Recreate: one writer of the journal', () => {
    assert.equal(deployment.spec.replicas, 1);
    assert.deepEqual(deployment.spec.strategy, { type: 'Recreate' });
  });

  test('startup and readiness on /readyz, liveness on /health, port http 8080', () => {
    assert.deepEqual(container.ports.find((p) => p.name === 'http'), { name: 'http', containerPort: 8080, protocol: 'TCP' });
    assert.deepEqual(container.startupProbe.httpGet, { path: '/readyz', port: 'http' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/health', port: 'http' });
  });

  test('requests = limits for cpu and memory (Guaranteed)', () => {
    const { requests, limits } = container.resources;
    assert.deepEqual(requests, { cpu: owner.resources.cpu, memory: owner.resources.memory });
    assert.deepEqual(limits, requests);
  });

  test('priorityClassName, tolerations and affinity from the values', () => {
    assert.equal(pod.priorityClassName, owner.priorityClassName);
    assert.equal(pod.priorityClassName, 'tier-0-core');
    assert.deepEqual(pod.tolerations, owner.tolerations);
    assert.deepEqual(pod.affinity, owner.affinity);
  });

  test('the scripts ConfigMap is mounted as a directory, never with subPath', () => {
    const scripts = pod.volumes.find((v) => v.name === 'scripts');
    assert.equal(scripts.configMap.name, only(objects, 'ConfigMap', '-scripts').metadata.name);
    const mounts = container.volumeMounts.filter((m) => m.name === 'scripts');
    assert.deepEqual(mounts, [{ name: 'scripts', mountPath: '/etc/breakglass/scripts', readOnly: true }]);
    for (const m of container.volumeMounts) assert.equal(m.subPath, undefined, `${m.name} uses subPath`);
    assert.equal(env.BREAKGLASS_SCRIPTS_DIR, '/etc/breakglass/scripts');
  });

  test('the SSH key and known_hosts are files 0440, the tokens env from the Secret', () => {
    const es = only(objects, 'ExternalSecret');
    const secretName = es.spec.target.name;
    const secrets = pod.volumes.find((v) => v.name === 'secrets');
    assert.equal(secrets.secret.secretName, secretName);
    assert.equal(secrets.secret.defaultMode, 0o440);
    assert.deepEqual(secrets.secret.items.map((i) => i.path), ['private_key', 'known_hosts']);
    assert.deepEqual(container.volumeMounts.find((m) => m.name === 'secrets'),
      { name: 'secrets', mountPath: '/secrets/breakglass', readOnly: true });
    assert.equal(env.BREAKGLASS_KEY_PATH, '/secrets/breakglass/private_key');
    assert.equal(env.BREAKGLASS_KNOWN_HOSTS, '/secrets/breakglass/known_hosts');
    assert.deepEqual(env.ANTHROPIC_API_KEY, { secretKeyRef: { name: secretName, key: 'model_credential' } });
    assert.deepEqual(env.API_BEARER_TOKEN, { secretKeyRef: { name: secretName, key: 'api_bearer_token' } });
    assert.equal(env.ANTHROPIC_AUTH_TOKEN, undefined);
    // No secret is ever a literal value in the pod spec.
    for (const e of container.env.filter((v) => /TOKEN|KEY$/.test(v.name) && v.name !== 'BREAKGLASS_KEY_PATH')) {
      assert.equal(e.value, undefined, `${e.name} is a literal`);
    }
  });

  test('targets, trusted header, JSON logs and the metrics listener are set from the values', () => {
    assert.equal(env.BREAKGLASS_DEVVM_HOST, owner.targets.devvm.host);
    assert.equal(env.BREAKGLASS_DEVVM_PORT, String(owner.targets.devvm.port));
    assert.equal(env.BREAKGLASS_DEVVM_USER, 'breakglass');
    assert.equal(env.BREAKGLASS_PVE_HOST, owner.targets.pve.host);
    assert.equal(env.BREAKGLASS_PVE_USER, 'root');
    assert.equal(env.BREAKGLASS_TRUSTED_USER_HEADER, 'X-authentik-username');
    assert.equal(env.BREAKGLASS_LOG_FORMAT, 'json');
    assert.equal(env.BREAKGLASS_METRICS_LISTEN, '0.0.0.0:9090');
    assert.equal(env.BREAKGLASS_DATA_DIR, '/data');
    assert.equal(env.BREAKGLASS_SSH_STANDBY, 'on', 'standbys by default');
    const off = render({ files: [OWNER_FILE], namespace: 'default', sets: { 'daemon.sshStandby': false } });
    assert.equal(envOf(only(off, 'Deployment').spec.template.spec.containers[0]).BREAKGLASS_SSH_STANDBY, 'off');
  });

  test('the journal is on a ReadWriteOnce PVC kept on uninstall, mounted at /data', () => {
    const pvc = only(objects, 'PersistentVolumeClaim');
    assert.deepEqual(pvc.spec.accessModes, ['ReadWriteOnce']);
    assert.equal(pvc.spec.resources.requests.storage, owner.persistence.size);
    assert.equal(pvc.metadata.annotations['helm.sh/resource-policy'], 'keep');
    // Deleting a namespace deletes what is in it, kept or not.
    assert.equal(only(objects, 'Namespace').metadata.annotations['helm.sh/resource-policy'], 'keep');
    const dropped = render({ files: [OWNER_FILE], namespace: 'default', sets: { 'persistence.keepOnUninstall': false } });
    assert.equal(only(dropped, 'PersistentVolumeClaim').metadata.annotations, undefined);
    assert.equal(only(dropped, 'Namespace').metadata.annotations, undefined);
    assert.deepEqual(pod.volumes.find((v) => v.name === 'data').persistentVolumeClaim, { claimName: pvc.metadata.name });
    assert.deepEqual(container.volumeMounts.find((m) => m.name === 'data'), { name: 'data', mountPath: '/data' });
  });

  test('terminationGracePeriodSeconds follows the power-verb limit', () => {
    assert.equal(env.BREAKGLASS_PVE_VERB_TIMEOUT_SECONDS, '120');
    assert.equal(pod.terminationGracePeriodSeconds, 150);
    const longer = only(render({ files: ['minimal-values.yaml'], sets: { 'daemon.pveVerbTimeoutSeconds': 600 } }), 'Deployment');
    assert.equal(longer.spec.template.spec.terminationGracePeriodSeconds, 630);
    assert.equal(envOf(longer.spec.template.spec.containers[0]).BREAKGLASS_PVE_VERB_TIMEOUT_SECONDS, '600');
  });
});

describe('the owner NetworkPolicy', () => {
  const policy = only(objects, 'NetworkPolicy');
  const podLabels = deployment.spec.template.metadata.labels;
  const nsSelector = (name) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });

  test('selects the daemon pods and denies both directions by default', () => {
    assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    for (const [k, v] of Object.entries(policy.spec.podSelector.matchLabels)) assert.equal(podLabels[k], v, k);
    assert.deepEqual(policy.spec.podSelector.matchLabels, deployment.spec.selector.matchLabels);
  });

  test('ingress: only the ingress controller to http, only monitoring to metrics', () => {
    assert.deepEqual(policy.spec.ingress, [
      { from: [nsSelector(owner.networkPolicy.ingressControllerNamespace)], ports: [{ protocol: 'TCP', port: 8080 }] },
      { from: [nsSelector(owner.networkPolicy.monitoringNamespace)], ports: [{ protocol: 'TCP', port: 9090 }] },
    ]);
  });

  test('egress: exactly DNS, 443 to the model API CIDRs, 22 to the devvm and Proxmox /32s', () => {
    const modelCidrs = owner.networkPolicy.modelApi?.cidrs ?? defaults.networkPolicy.modelApi.cidrs;
    assert.ok(modelCidrs.length > 0);
    assert.deepEqual(policy.spec.egress, [
      {
        to: [{ ...nsSelector('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
      },
      { to: modelCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: 443 }] },
      { to: [{ ipBlock: { cidr: `${owner.targets.devvm.host}/32` } }], ports: [{ protocol: 'TCP', port: 22 }] },
      { to: [{ ipBlock: { cidr: `${owner.targets.pve.host}/32` } }], ports: [{ protocol: 'TCP', port: 22 }] },
    ]);
  });

  test('without a Proxmox host, metrics or an ingress namespace, those rules go and nothing opens', () => {
    const p = only(render({ files: ['minimal-values.yaml'], sets: { 'metrics.enabled': false } }), 'NetworkPolicy');
    assert.deepEqual(p.spec.ingress, []);
    assert.deepEqual(p.spec.egress.map((r) => r.ports[0].port), [53, 443, 22]);
    assert.equal(p.spec.egress[2].to[0].ipBlock.cidr, '192.0.2.10/32');
  });
});

describe('the namespace', () => {
  test('created by the chart: Pod Security restricted enforced, every object inside it', () => {
    const ns = only(objects, 'Namespace');
    assert.equal(ns.metadata.name, owner.namespace.name);
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce-version'], 'latest');
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/warn'], 'restricted');
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/audit'], 'restricted');
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) {
      assert.equal(o.metadata.namespace, owner.namespace.name, `${o.kind} ${o.metadata.name}`);
    }
  });

  test('expected to exist: no Namespace object, everything in the release namespace', () => {
    const others = render({ files: ['minimal-values.yaml'], namespace: 'ops-breakglass' });
    assert.equal(others.filter((o) => o.kind === 'Namespace').length, 0);
    for (const o of others) assert.equal(o.metadata.namespace, 'ops-breakglass', `${o.kind} ${o.metadata.name}`);
  });

  test('NOTES.txt tells how to label a namespace the chart did not create', () => {
    const notes = renderNotes(join(root, 'ns'), { files: ['minimal-values.yaml'], namespace: 'ops-breakglass' });
    assert.match(notes, /kubectl label --overwrite ns ops-breakglass pod-security\.kubernetes\.io\/enforce=restricted/);
    const ownerNotes = renderNotes(join(root, 'owner-ns'), { files: [OWNER_FILE], namespace: 'default' });
    assert.doesNotMatch(ownerNotes, /kubectl label/);
  });
});

describe('restarts', () => {
  test('the owner pod carries no checksum: nothing the chart renders is read only at start', () => {
    const annotations = deployment.spec.template.metadata.annotations ?? {};
    assert.deepEqual(Object.keys(annotations).filter((k) => k.startsWith('checksum/')), []);
  });

  test('a Secret the chart renders has its checksum on the pod: a changed value restarts it', () => {
    const podOf = (sets) => only(render({ files: ['chart-secret-values.yaml'], sets }), 'Deployment').spec.template;
    const before = podOf({});
    const after = podOf({ 'secrets.values.bearerToken': 'rotated-token' });
    assert.match(before.metadata.annotations['checksum/secret'], /^[0-9a-f]{64}$/);
    assert.notEqual(after.metadata.annotations['checksum/secret'], before.metadata.annotations['checksum/secret']);
    assert.deepEqual(Object.keys(before.metadata.annotations), ['checksum/secret'], 'no checksum over the scripts');
  });
});

describe('persistence', () => {
  test('disabled: an emptyDir at /data, no PVC, and NOTES.txt warns that sessions die with the pod', () => {
    const opts = { files: ['minimal-values.yaml'], sets: { 'persistence.enabled': false } };
    const objs = render(opts);
    assert.equal(objs.filter((o) => o.kind === 'PersistentVolumeClaim').length, 0);
    const data = only(objs, 'Deployment').spec.template.spec.volumes.find((v) => v.name === 'data');
    assert.deepEqual(data, { name: 'data', emptyDir: { sizeLimit: '1Gi' } });
    assert.match(renderNotes(join(root, 'no-pvc'), opts), /WARNING: persistence is disabled[^]*dies with the pod/);
    assert.doesNotMatch(renderNotes(join(root, 'pvc'), { files: ['minimal-values.yaml'] }), /persistence is disabled/);
  });

  test('size and storage class come from the values; "" leaves the cluster default', () => {
    const pvc = only(render({ files: ['minimal-values.yaml'], sets: { 'persistence.size': '5Gi', 'persistence.storageClass': 'ceph-rbd' } }), 'PersistentVolumeClaim');
    assert.equal(pvc.spec.storageClassName, 'ceph-rbd');
    assert.equal(pvc.spec.resources.requests.storage, '5Gi');
    assert.equal(only(render({ files: ['minimal-values.yaml'] }), 'PersistentVolumeClaim').spec.storageClassName, undefined);
  });

  test('an existing claim is mounted and none is created', () => {
    const objs = render({ files: ['minimal-values.yaml'], sets: { 'persistence.existingClaim': 'journals' } });
    assert.equal(objs.filter((o) => o.kind === 'PersistentVolumeClaim').length, 0);
    const data = only(objs, 'Deployment').spec.template.spec.volumes.find((v) => v.name === 'data');
    assert.deepEqual(data.persistentVolumeClaim, { claimName: 'journals' });
  });
});

describe('Service, Ingress and the auth proxy', () => {
  test('the Service exposes http and metrics to the daemon pods only', () => {
    const svc = only(objects, 'Service');
    assert.deepEqual(svc.spec.selector, deployment.spec.selector.matchLabels);
    assert.deepEqual(svc.spec.ports, [
      { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    assert.deepEqual(container.ports.find((p) => p.name === 'metrics'), { name: 'metrics', containerPort: 9090, protocol: 'TCP' });
  });

  test('the Ingress has the class, host, TLS Secret and the forward-auth middleware', () => {
    const ing = only(objects, 'Ingress');
    assert.equal(ing.spec.ingressClassName, owner.ingress.className);
    assert.equal(ing.spec.rules[0].host, owner.ingress.host);
    assert.deepEqual(ing.spec.tls, [{ hosts: [owner.ingress.host], secretName: owner.ingress.tlsSecretName }]);
    assert.deepEqual(ing.metadata.annotations, owner.ingress.authProxy.annotations);
    assert.deepEqual(ing.spec.rules[0].http.paths[0].backend.service, { name: only(objects, 'Service').metadata.name, port: { name: 'http' } });
  });

  test('NOTES.txt warns when the trusted header is reachable by any pod', () => {
    const sets = { 'ingress.enabled': true, 'ingress.host': 'breakglass.example.internal', 'ingress.authProxy.enabled': true };
    const open = renderNotes(join(root, 'open'), { files: ['minimal-values.yaml'], sets: { ...sets, 'networkPolicy.enabled': false } });
    assert.match(open, /Any pod can then send X-authentik-username itself and be trusted as that user/);
    assert.doesNotMatch(renderNotes(join(root, 'closed'), { files: ['minimal-values.yaml'], sets }), /Any pod can/);
  });

  test('without the auth proxy the daemon trusts no header', () => {
    const d = only(render({ files: ['chart-secret-values.yaml'] }), 'Deployment');
    const e = envOf(d.spec.template.spec.containers[0]);
    assert.equal(e.BREAKGLASS_TRUSTED_USER_HEADER, undefined);
    assert.deepEqual(e.ANTHROPIC_AUTH_TOKEN, { secretKeyRef: { name: 'breakglass-secrets', key: 'model_credential' } });
    assert.equal(e.ANTHROPIC_API_KEY, undefined);
  });
});

describe('labels', () => {
  test('every object has the app.kubernetes.io labels; the pod template has no chart version', () => {
    for (const o of objects) {
      for (const k of ['name', 'instance', 'version', 'managed-by', 'part-of']) {
        assert.ok(o.metadata.labels?.[`app.kubernetes.io/${k}`], `${o.kind} ${o.metadata.name} lacks app.kubernetes.io/${k}`);
      }
    }
    const labels = deployment.spec.template.metadata.labels;
    assert.equal(labels['helm.sh/chart'], undefined, 'a chart bump that changes only scripts must not restart the pod');
    assert.equal(labels['app.kubernetes.io/component'], 'server');
  });
});
