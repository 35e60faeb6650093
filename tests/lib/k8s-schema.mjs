// Offline validation of rendered Kubernetes objects: the API schemas of
// the npm package kubernetes-models for built-in kinds, and small schemas
// written here for the two custom resources the chart renders. Like the API
// server with strict field validation (kubectl's default), a field the
// schema does not know is an error: kubernetes-models' validators only check
// the fields they know, so each object is read through a proxy that records
// which fields they looked at, and any other field is reported.
import Ajv from 'ajv';

// external-secrets.io ExternalSecret, the fields this chart writes (from the
// operator's CRD: data[].secretKey and remoteRef.key are required, the store
// kind and creation policy are enums).
const keyPattern = '^[-._a-zA-Z0-9]+$';
const dnsSubdomain = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const strict = (properties, required = []) => ({ type: 'object', additionalProperties: false, properties, required });
const metadata = { type: 'object' }; // checked by the ObjectMeta schema below

const EXTERNAL_SECRET = strict({
  apiVersion: { enum: ['external-secrets.io/v1', 'external-secrets.io/v1beta1'] },
  kind: { const: 'ExternalSecret' },
  metadata,
  spec: strict({
    refreshInterval: { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$' },
    secretStoreRef: strict({
      kind: { enum: ['SecretStore', 'ClusterSecretStore'] },
      name: { type: 'string', minLength: 1, maxLength: 253, pattern: dnsSubdomain },
    }, ['name']),
    target: strict({
      name: { type: 'string', minLength: 1, maxLength: 253, pattern: dnsSubdomain },
      creationPolicy: { enum: ['Owner', 'Orphan', 'Merge', 'None'] },
    }),
    data: {
      type: 'array',
      items: strict({
        secretKey: { type: 'string', minLength: 1, maxLength: 253, pattern: keyPattern },
        remoteRef: strict({
          key: { type: 'string', minLength: 1 },
          property: { type: 'string' },
        }, ['key']),
      }, ['secretKey', 'remoteRef']),
    },
  }, ['secretStoreRef', 'target', 'data']),
}, ['apiVersion', 'kind', 'metadata', 'spec']);

// monitoring.coreos.com/v1 ServiceMonitor, the fields this chart writes.
const SERVICE_MONITOR = strict({
  apiVersion: { const: 'monitoring.coreos.com/v1' },
  kind: { const: 'ServiceMonitor' },
  metadata,
  spec: strict({
    selector: strict({ matchLabels: stringMap }, ['matchLabels']),
    endpoints: {
      type: 'array',
      minItems: 1,
      items: strict({
        port: { type: 'string', minLength: 1 },
        path: { type: 'string', pattern: '^/' },
        interval: { type: 'string', pattern: '^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
      }, ['port']),
    },
  }, ['selector', 'endpoints']),
}, ['apiVersion', 'kind', 'metadata', 'spec']);

const ajv = new Ajv({ allErrors: true, strict: true });
const CUSTOM = {
  ExternalSecret: ajv.compile(EXTERNAL_SECRET),
  ServiceMonitor: ajv.compile(SERVICE_MONITOR),
};

/** A proxy of value that adds the JSON pointer of every field read to seen. */
function tracked(value, path, seen) {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || !Object.hasOwn(target, key)) return v;
      const p = `${path}/${key}`;
      seen.add(p);
      return tracked(v, p, seen);
    },
  });
}

/** Fields of value no validator read: unknown to the schema. */
function unread(value, path, seen, out = []) {
  if (value === null || typeof value !== 'object') return out;
  for (const key of Object.keys(value)) {
    const p = `${path}/${key}`;
    if (seen.has(p)) unread(value[key], p, seen, out);
    else out.push(p);
  }
  return out;
}

/** kubernetes-models' schema module name of an apiVersion and kind. */
function schemaName(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const cap = (s) => s[0].toUpperCase() + s.slice(1);
  return `IoK8sApi${cap(group.split('.')[0])}${cap(version)}${kind}`;
}

/** Words for a validator error (kubernetes-models' are compiled without messages). */
function describeError(e) {
  const p = e.params ?? {};
  const what = e.message ?? {
    type: `must be ${p.type}`,
    enum: `must be one of ${JSON.stringify(p.allowedValues)}`,
    required: `must have property ${p.missingProperty}`,
  }[e.keyword] ?? `fails ${e.keyword} ${JSON.stringify(p)}`;
  return `${e.instancePath || '/'} ${what}${p.additionalProperty ? `: ${p.additionalProperty}` : ''}`;
}

const ajvErrors = (errors) => errors.map(describeError);

/** The problems of one object, as "path message" strings; [] when valid. */
export async function validateObject(obj) {
  const custom = CUSTOM[obj.kind];
  if (custom) {
    const problems = custom(obj) ? [] : ajvErrors(custom.errors);
    // Its metadata is an ObjectMeta: checked as a ConfigMap's.
    return problems.concat(await validateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: obj.metadata }));
  }
  let mod;
  try {
    mod = await import(`kubernetes-models/_schemas/${schemaName(obj.apiVersion, obj.kind)}`);
  } catch {
    return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  }
  const seen = new Set();
  const ok = mod.validate(tracked(obj, '', seen));
  const problems = ok ? [] : ajvErrors(mod.validate.errors);
  return problems.concat(unread(obj, '', seen).map((p) => `${p} is not a field the schema knows`));
}
