/**
 * One archive fuzz step: a hostile archive sent to one of the four places
 * berthd unpacks archives, then (when it was accepted) read back:
 *  - `POST /images/load`: a docker-save or OCI layout made here around a
 *    hostile layer (image-archive.ts), or the real `docker save` of busybox
 *    with hostile entries added; then a container of the image, its files
 *    read back (`GET …/archive?path=/`), export, and removal;
 *  - `POST /images/create?fromSrc=-`: a hostile tar, plain or gzip (right or
 *    wrong); then the same read-back;
 *  - `POST /build`: a context with a Dockerfile (`COPY . /x/`, `ADD h.tar`
 *    of a nested hostile tar) and hostile entries; the Dockerfile itself is
 *    never mutated, so a build never asks for an image from a registry;
 *  - `PUT /containers/{id}/archive`: a hostile tar into the running or the
 *    stopped fixture container at `/`, `/tmp`, its volume, a file…; then the
 *    same path read back.
 * Each may be cut off mid-upload (a client that vanishes). Byte mutations
 * and host safety: tar-mutate.ts.
 */
import type { RawOutcome } from '../../helpers/raw-http.js';
import type { Rng } from './rng.js';
import type { Canary } from './host-canary.js';
import { hostileEntries, mutateBytes, type HostileContext } from './tar-mutate.js';
import { dir, file, writeTar, type TarEntry, type WrittenTar } from './tar-write.js';
import { gzip, mutatedGzip } from './gzip-mutate.js';
import { archiveEntries, buildModel, mutateModel, type Layer } from './image-archive.js';
import { plainRequest, type FuzzRequest } from './wire.js';

export interface ArchiveGenContext {
  canary: Canary;
  hostile: HostileContext;
  /** Entries of `docker save busybox`, read once at the start. */
  busyboxSave: TarEntry[];
}

function baseEntries(rng: Rng): TarEntry[] {
  return [dir('etc'), file('etc/fuzz.conf', `k=${rng.alnum(6)}\n`), dir('bin'), file('hello', 'hello\n', { mode: 0o755 })];
}

/** A hostile tar: a few ordinary entries and hostile ones, shuffled a little. */
function hostileTar(rng: Rng, g: ArchiveGenContext): WrittenTar {
  const entries = [...baseEntries(rng), ...hostileEntries(rng, g.hostile)];
  if (rng.chance(0.3)) entries.reverse();
  return writeTar(entries, { endBlocks: rng.pick([2, 2, 2, 1, 0, 5]) });
}

/** The upload: the tar's bytes, mutated or not, maybe gzipped; what was done. */
function tarBody(t: WrittenTar, rng: Rng, allowGzip: boolean): { body: Buffer; what: string[] } {
  const m = mutateBytes(t, rng);
  if (allowGzip && rng.chance(0.3)) {
    const gz = mutatedGzip(m.bytes, rng);
    return { body: gz.bytes, what: [...m.what, gz.what] };
  }
  return { body: m.bytes, what: m.what };
}

function maybeCut(req: FuzzRequest, rng: Rng): FuzzRequest {
  if (req.body && req.body.length > 0 && rng.chance(0.08)) {
    req.cut = { at: -rng.int(1, req.body.length), how: rng.chance(0.8) ? 'destroy' : 'end' };
  } else if (req.body && rng.chance(0.08)) {
    req.encoding = 'chunked';
  }
  return req;
}

const cleanupName = (s: string) => encodeURIComponent(s);

/** Read back what was made from image `ref`: a container of it, its whole tree, an export, then removal. */
function readBackImage(ref: string, name: string): FuzzRequest[] {
  const create = plainRequest('POST', `/containers/create?name=${name}`, 'read-back: create from the image', Buffer.from(JSON.stringify({ Image: ref, Cmd: ['true'] })), 'application/json');
  create.then = (o) => (o.kind === 'response' && o.res.status === 201 ? [
    plainRequest('GET', `/containers/${name}/archive?path=/`, 'read-back: GET archive /'),
    plainRequest('GET', `/containers/${name}/export`, 'read-back: export'),
    plainRequest('GET', `/containers/${name}/changes`, 'read-back: changes'),
    plainRequest('DELETE', `/containers/${name}?force=1&v=1`, 'read-back: remove container'),
    plainRequest('GET', `/images/${cleanupName(ref)}/get`, 'read-back: save the image'),
    plainRequest('DELETE', `/images/${cleanupName(ref)}?force=1`, 'read-back: remove image'),
  ] : [plainRequest('DELETE', `/images/${cleanupName(ref)}?force=1`, 'read-back: remove image')]);
  return [create];
}

function succeeded(o: RawOutcome): o is Extract<RawOutcome, { kind: 'response' }> {
  return o.kind === 'response' && o.res.status === 200 && !/"error(Detail)?"\s*:/.test(o.res.body.toString('utf8'));
}

function loadRequest(rng: Rng, g: ArchiveGenContext, i: number): FuzzRequest {
  const ref = `fuzz/load:${i}`;
  let entries: TarEntry[];
  let what: string[];
  if (rng.chance(0.25)) {
    entries = [...g.busyboxSave.map((e) => ({ ...e, opaqueData: e.name.startsWith('blobs/') })), ...hostileEntries(rng, g.hostile)];
    if (rng.chance(0.5)) entries.reverse();
    what = ['docker save of busybox with hostile entries'];
  } else {
    const layers: Layer[] = Array.from({ length: rng.int(1, 2) }, () => {
      const t = hostileTar(rng, g);
      const gz = rng.chance(0.3);
      return { tar: t.bytes, stored: gz ? gzip(t.bytes) : t.bytes, gzipped: gz, protectedRanges: gz ? [] : t.protectedRanges };
    });
    const model = buildModel(layers, ref, rng.chance(0.6) ? 'docker-save' : 'oci');
    mutateModel(model, rng, g.canary);
    entries = archiveEntries(model);
    what = model.what;
  }
  const t = writeTar(entries);
  const { body, what: w } = tarBody(t, rng, false);
  const req = plainRequest('POST', `/images/load${rng.chance(0.5) ? '?quiet=1' : ''}`, `POST /images/load: ${what[0]}`, body, 'application/x-tar');
  req.note = [...what, ...w].join(', ');
  req.mayBlock = false;
  req.then = (o) => {
    if (!succeeded(o)) return [];
    const loaded = [...o.res.body.toString('utf8').matchAll(/Loaded image(?: ID)?: ([^\s"\\]+)/g)].map((m) => m[1]);
    const target = loaded[0];
    return target ? readBackImage(target, `fz-load-${i}`) : [];
  };
  return maybeCut(req, rng);
}

function importRequest(rng: Rng, g: ArchiveGenContext, i: number): FuzzRequest {
  const t = hostileTar(rng, g);
  const { body, what } = tarBody(t, rng, true);
  const ref = `fuzz/import:${i}`;
  const req = plainRequest('POST', `/images/create?fromSrc=-&repo=fuzz%2Fimport&tag=${i}`, 'POST /images/create?fromSrc=-', body, rng.chance(0.8) ? 'application/x-tar' : 'application/octet-stream');
  req.note = what.join(', ') || 'hostile tar';
  req.then = (o) => (succeeded(o) ? readBackImage(ref, `fz-import-${i}`) : []);
  return maybeCut(req, rng);
}

function buildRequest(rng: Rng, g: ArchiveGenContext, i: number): FuzzRequest {
  const nested = hostileTar(rng, g);
  const dockerfile = rng.pick([
    'FROM scratch\nCOPY . /x/\n',
    'FROM busybox\nCOPY . /x/\n',
    'FROM scratch\nADD h.tar /x/\n',
    'FROM busybox\nADD h.tar /\nCOPY hello /hello\n',
    'FROM 127.0.0.1:9/fuzz/absent\n',
    `FROM scratch\nCOPY ${'../'.repeat(12)}${g.canary.secretFile.slice(1)} /p\n`,
    `FROM scratch\nCOPY ${g.canary.secretFile} /p\n`,
  ]);
  const entries: TarEntry[] = [
    // The Dockerfile is left as written (hostBound): a flipped byte could make it name a registry image.
    file('Dockerfile', dockerfile, { hostBound: true }),
    ...baseEntries(rng),
    { ...file('h.tar', nested.bytes), innerProtected: nested.protectedRanges },
    ...hostileEntries(rng, g.hostile),
  ];
  const t = writeTar(entries);
  const { body, what } = tarBody(t, rng, true);
  const tag = `fuzz/build:${i}`;
  const dockerfileParam = rng.weighted<string>([[8, ''], [1, `&dockerfile=${encodeURIComponent(`../../../../../../..${g.canary.secretFile}`)}`], [1, `&dockerfile=${encodeURIComponent(g.canary.secretFile)}`], [1, '&dockerfile=h.tar']]);
  const req = plainRequest('POST', `/build?t=${encodeURIComponent(tag)}&rm=1&forcerm=1${dockerfileParam}`, 'POST /build', body, 'application/x-tar');
  req.note = [JSON.stringify(dockerfile), ...what].join(', ');
  req.then = (o) => (succeeded(o) ? readBackImage(tag, `fz-build-${i}`) : []);
  return maybeCut(req, rng);
}

function putArchiveRequest(rng: Rng, g: ArchiveGenContext): FuzzRequest {
  const t = hostileTar(rng, g);
  const { body, what } = tarBody(t, rng, true);
  const container = rng.pick(['fz-run', 'fz-stopped']);
  const path = rng.pick(['/', '/tmp', '/data', '/etc', '/nonexistent', '/bin/sh', '/etc/hosts', '/proc', '/dev', '/sys', '/tmp/../..', '']);
  const q = new URLSearchParams({ path });
  if (rng.chance(0.3)) q.set('noOverwriteDirNonDir', rng.pick(['1', 'true', '0']));
  if (rng.chance(0.3)) q.set('copyUIDGID', rng.pick(['1', 'true']));
  const req = plainRequest('PUT', `/containers/${container}/archive?${q}`, 'PUT /containers/{id}/archive', body, 'application/x-tar');
  req.note = [`into ${container}:${path}`, ...what].join(', ');
  req.then = (o) => (o.kind === 'response' && o.res.status === 200 ? [plainRequest('GET', `/containers/${container}/archive?${new URLSearchParams({ path: path || '/' })}`, 'read-back: GET archive of the PUT path')] : []);
  return maybeCut(req, rng);
}

export function archiveRequest(g: ArchiveGenContext, rng: Rng, i: number): FuzzRequest {
  return rng.weighted<() => FuzzRequest>([
    [4, () => loadRequest(rng, g, i)],
    [2, () => importRequest(rng, g, i)],
    [2, () => buildRequest(rng, g, i)],
    [3, () => putArchiveRequest(rng, g)],
  ])();
}
