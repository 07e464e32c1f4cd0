#!/usr/bin/env node
/**
 * Turns the request-body schemas of the Engine API spec
 * (`reference/docker-engine-api-v1.50.yaml`, Swagger 2.0) into the compact
 * Go-type table that `src/api/schema/body-types.ts` checks bodies against,
 * and writes it to `src/api/schema/engine-api.generated.ts`.
 *
 * The table is committed, not made at build time or at daemon start: berthd
 * then never loads a YAML parser nor reads a 500 KB file (start-up time and
 * idle RSS), `tsc` alone still builds a working daemon, and a change of the
 * spec shows up as a reviewable diff. `--check` compares instead of writing
 * (run by test/unit/api/body-schema.test.ts), so the table cannot drift.
 *
 *   node scripts/gen-api-schemas.mjs [--spec path] [--check]
 *
 * What is kept is what Go's encoding/json needs to decode like dockerd: the
 * kind of every field (with integer widths from `format`), struct names,
 * and which fields are pointers, slices or maps (`null` keeps its meaning
 * there). Descriptions, examples, enums and `required` are dropped: dockerd
 * does not check them while decoding (its own checks, with its own words,
 * are in engine/create-checks.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const specArg = args.indexOf('--spec');
/** The spec lives in the shared reference folder beside the checkout (../shared from the main checkout, ../../shared from a worktree). */
export function findSpec() {
  if (specArg >= 0) return args[specArg + 1];
  if (process.env.BERTH_API_SPEC) return process.env.BERTH_API_SPEC;
  const candidates = [join(root, '..', 'shared'), join(root, '..', '..', 'shared'), '/work/shared'].map((d) => join(d, 'reference', 'docker-engine-api-v1.50.yaml'));
  return candidates.find((c) => existsSync(c)) ?? candidates[0];
}
const outPath = join(root, 'src', 'api', 'schema', 'engine-api.generated.ts');

/** The bodies berth reads, by the name the API code uses, and the Go type dockerd decodes each into. */
const BODIES = [
  { name: 'ContainerCreate', method: 'post', path: '/containers/create', go: 'container.CreateRequest' },
  { name: 'ContainerUpdate', method: 'post', path: '/containers/{id}/update', go: 'container.UpdateConfig' },
  { name: 'Commit', method: 'post', path: '/commit', go: 'container.Config' },
  { name: 'Auth', method: 'post', path: '/auth', go: 'registry.AuthConfig' },
  { name: 'ExecCreate', method: 'post', path: '/containers/{id}/exec', go: 'container.ExecOptions' },
  { name: 'ExecStart', method: 'post', path: '/exec/{id}/start', go: 'container.ExecStartOptions' },
  { name: 'VolumeCreate', method: 'post', path: '/volumes/create', go: 'volume.CreateOptions' },
  { name: 'NetworkCreate', method: 'post', path: '/networks/create', go: 'network.CreateRequest' },
  { name: 'NetworkConnect', method: 'post', path: '/networks/{id}/connect', go: 'network.ConnectOptions' },
  { name: 'NetworkDisconnect', method: 'post', path: '/networks/{id}/disconnect', go: 'network.DisconnectOptions' },
];

/** The spec's definition names → the Go types dockerd declares them as (for error messages). */
const GO_NAMES = {
  ContainerConfig: 'container.Config', HostConfig: 'container.HostConfig', Resources: 'container.Resources',
  HealthConfig: 'container.HealthConfig', RestartPolicy: 'container.RestartPolicy', DeviceMapping: 'container.DeviceMapping',
  DeviceRequest: 'container.DeviceRequest', ThrottleDevice: 'blkiodev.ThrottleDevice', Mount: 'mount.Mount',
  NetworkingConfig: 'network.NetworkingConfig', EndpointSettings: 'network.EndpointSettings',
  EndpointIPAMConfig: 'network.EndpointIPAMConfig', PortBinding: 'nat.PortBinding', IPAM: 'network.IPAM',
  IPAMConfig: 'network.IPAMConfig', AuthConfig: 'registry.AuthConfig', VolumeCreateOptions: 'volume.CreateOptions',
  ClusterVolumeSpec: 'volume.ClusterVolumeSpec',
};

/**
 * Where dockerd's Go type differs from the spec's: strslice.StrSlice takes a
 * string or a list of strings; ConsoleSize is a [2]uint; blkio weights are
 * uint16 (the spec gives a plain integer with a 0–1000 range).
 */
const OVERRIDES = {
  'Resources.BlkioWeight': { t: 'int', go: 'uint16' },
  'Resources.BlkioWeightDevice.Weight': { t: 'int', go: 'uint16' },
  'ContainerConfig.Cmd': { t: 'strslice' },
  'ContainerConfig.Entrypoint': { t: 'strslice' },
  'ContainerConfig.Shell': { t: 'strslice' },
  'HostConfig.ConsoleSize': { t: 'slice', go: '[2]uint', of: { t: 'int', go: 'uint' }, ptr: true },
};

/** Fields Go declares as pointers where the spec has no `x-nullable`: a `null` there is kept. */
const POINTERS = new Set([
  'Resources.MemorySwappiness', 'Resources.OomKillDisable', 'ContainerConfig.StopTimeout', 'ContainerConfig.Healthcheck',
  'EndpointSettings.IPAMConfig', 'NetworkCreate.IPAM', 'NetworkConnect.EndpointConfig',
]);

export function generate(spec) {
  const defs = {};
  const goName = (def) => GO_NAMES[def] ?? `types.${def}`;

  /** A struct made of `allOf` parts and/or `properties`; `owner` names fields for OVERRIDES. */
  function struct(schema, go, owner) {
    const fields = {};
    const add = (s, own) => {
      if (s.$ref) {
        const name = s.$ref.replace('#/definitions/', '');
        add(spec.definitions[name], name);
        return;
      }
      for (const part of s.allOf ?? []) add(part, own);
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        const f = OVERRIDES[`${own}.${k}`] ?? type(v, `${go.split('.')[0]}.${k}`, `${own}.${k}`);
        fields[k] = POINTERS.has(`${own}.${k}`) ? { ...f, ptr: true } : f;
      }
    };
    add(schema, owner);
    return { t: 'struct', go, fields };
  }

  function ref(name) {
    if (!(name in defs)) {
      defs[name] = null; // placeholder: recursion stops here
      defs[name] = struct(spec.definitions[name], goName(name), name);
    }
    return { t: 'ref', def: name };
  }

  /** One schema → its Go type. `inlineGo` names an inline struct; `owner` is "Def.field" for nested inline objects. */
  function type(s, inlineGo, owner) {
    const ptr = s['x-nullable'] === true ? { ptr: true } : {};
    if (s.$ref) {
      const name = s.$ref.replace('#/definitions/', '');
      const d = spec.definitions[name];
      // Definitions that are only a scalar or a list (PortMap, MountType, …) are inlined.
      if (d.type && d.type !== 'object') return { ...type(d, goName(name), name), ...ptr };
      if (d.type === 'object' && !d.properties && !d.allOf) return { ...type(d, goName(name), name), ...ptr };
      return { ...ref(name), ...ptr };
    }
    // `allOf: [$ref]` is how the spec gives a referenced type a description of its own.
    if (s.allOf?.length === 1 && !s.properties) return { ...type(s.allOf[0], inlineGo, owner), ...ptr };
    if (s.allOf) return { ...struct(s, inlineGo, owner), ...ptr };
    switch (s.type) {
      case 'string': return { t: 'string', ...ptr };
      case 'boolean': return { t: 'bool', ...ptr };
      case 'number': return { t: 'float', ...ptr };
      case 'integer': return { t: 'int', go: intGo(s.format), ...ptr };
      case 'array': return { t: 'slice', of: type(s.items ?? {}, inlineGo, owner) };
      case 'object': {
        if (s.properties) return { ...struct(s, inlineGo, owner), ...ptr };
        const ap = s.additionalProperties;
        if (ap && typeof ap === 'object' && Object.keys(ap).length) {
          // `{type: object}` with no properties as a map's value is Go's struct{} (ExposedPorts, Volumes).
          const of = ap.type === 'object' && !ap.properties && !ap.additionalProperties ? { t: 'struct', go: 'struct {}', fields: {} } : type(ap, inlineGo, owner);
          return { t: 'map', of };
        }
        return { t: 'map', of: { t: 'any' } };
      }
      default: return { t: 'any' };
    }
  }

  const bodies = {};
  for (const b of BODIES) {
    const op = spec.paths[b.path][b.method];
    const param = op.parameters.find((p) => p.in === 'body');
    const s = param.schema;
    let t = s.$ref && !s.allOf ? ref(s.$ref.replace('#/definitions/', '')) : struct(s, b.go, b.name);
    if (t.t === 'ref') t = { ...t, go: b.go };
    bodies[b.name] = t;
  }
  const sorted = Object.fromEntries(Object.keys(defs).sort().map((k) => [k, defs[k]]));
  return { bodies, defs: sorted };
}

function intGo(format) {
  return ['int64', 'uint16', 'uint32', 'uint64', 'uint8', 'int32'].includes(format) ? format : 'int';
}

function render(table) {
  return `/**
 * GENERATED by scripts/gen-api-schemas.mjs from the Engine API spec v1.50
 * (request bodies only). Do not edit; run the script. See
 * src/api/schema/body-types.ts for what the entries mean.
 */
import type { BodyTable } from './body-types.js';

export const ENGINE_API_BODIES: BodyTable = ${JSON.stringify(table)};
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const specPath = findSpec();
  const text = render(generate(parse(readFileSync(specPath, 'utf8'))));
  if (args.includes('--check')) {
    const cur = readFileSync(outPath, 'utf8');
    if (cur !== text) {
      console.error(`${outPath} is out of date with ${specPath}: run node scripts/gen-api-schemas.mjs`);
      process.exit(1);
    }
  } else {
    writeFileSync(outPath, text);
    console.log(`wrote ${outPath} (${text.length} bytes)`);
  }
}
