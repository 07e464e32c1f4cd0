/**
 * The fuzzer must not be able to harm the host, whatever berthd does with
 * what it is sent. Every generated request passes through `makeSafe` before
 * it is sent, and this file is where "safe" is decided. It removes or
 * replaces, wherever it appears in a body (keys compared case-insensitively,
 * as Go's JSON decoder does):
 *  - privilege: Privileged, CapAdd, Devices, DeviceCgroupRules,
 *    DeviceRequests, SecurityOpt, Sysctls, CgroupParent, Runtime,
 *    MaskedPaths, ReadonlyPaths, Annotations, ContainerIDFile, VolumeDriver,
 *    Shell, OnBuild;
 *  - host namespaces: NetworkMode, PidMode, IpcMode, UTSMode, UsernsMode,
 *    CgroupnsMode, Cgroup naming "host", and the host network by name or id
 *    (endpoint configs, connect/disconnect);
 *  - host paths: bind sources (Binds, Mounts[].Source) outside the test's
 *    own bind directory, volume DriverOpts other than tmpfs, network and
 *    driver Options (a bridge name could name a host interface);
 *  - host networking: macvlan/ipvlan/host/overlay drivers, subnets and
 *    gateways outside this daemon's address pool, IPv6 ranges, published
 *    ports below 20000 or on other addresses than 127.0.0.1;
 *  - log drivers that write to the host or the network (all but json-file,
 *    local, none, k8s-file, with only size/count options);
 *  - commands: Cmd, Entrypoint, exec Cmd and health checks may only run a
 *    few harmless busybox applets (true, echo, sleep, cat, ls…); any other
 *    applet name is replaced by `true`, shell scripts by `true`;
 *  - the internet: fromImage, push and auth only to 127.0.0.1:9 (nothing
 *    listens there), fromSrc only `-`, build without remote, pull,
 *    cachefrom, outputs or a host network mode; image changes (`changes=`)
 *    that set a command become `CMD ["true"]`.
 * Hijacked requests (attach, exec start) never carry stdin.
 */
import { execFileSync } from 'node:child_process';
import { posix } from 'node:path';
import { DupObject, RawJson } from './json-mutate.js';

export interface SafetyContext {
  /** The only host directory binds may name (and what is under it). */
  bindDir: string;
  /** The second octet of the daemon's 10.<octet>.0.0/16 user pool; subnets and addresses must lie in it. */
  poolOctet: string;
  /** A subnet inside the pool to put in place of an unsafe one. */
  safeSubnet: string;
  /** Names and ids of the host network, which nothing may join. */
  hostNetwork: string[];
}

export const SAFE_REGISTRY = '127.0.0.1:9';

const DROP_KEYS = new Set([
  'privileged', 'capadd', 'devices', 'devicecgrouprules', 'devicerequests', 'securityopt', 'sysctls', 'cgroupparent',
  'runtime', 'maskedpaths', 'readonlypaths', 'annotations', 'containeridfile', 'volumedriver', 'shell', 'onbuild',
  'options', 'driveropts', 'clustervolumespec', 'driverconfig',
]);
const NAMESPACE_KEYS = new Set(['networkmode', 'pidmode', 'ipcmode', 'utsmode', 'usernsmode', 'cgroupnsmode', 'cgroup']);
const ADDRESS_KEYS = new Set(['subnet', 'gateway', 'iprange', 'auxiliaryaddresses']);
const SAFE_LOG_DRIVERS = new Set(['json-file', 'local', 'none', 'k8s-file']);
const SAFE_LOG_OPTS = new Set(['max-size', 'max-file', 'compress']);
const SAFE_COMMANDS = new Set(['true', 'false', 'echo', 'sleep', 'cat', 'ls', 'pwd', 'id', 'env', 'uname', 'hostname', 'date']);
const UNSAFE_DRIVERS = /macvlan|ipvlan|host|overlay/i;

let applets: Set<string> | undefined;
/** busybox's applet names (and a few common binaries): any of them may do something, so only SAFE_COMMANDS run. */
function appletNames(): Set<string> {
  if (!applets) {
    let list: string[] = [];
    try { list = execFileSync('busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean); } catch { /* no busybox: the fixed names below */ }
    applets = new Set([...list, 'sh', 'bash', 'reboot', 'halt', 'poweroff', 'kill', 'mount', 'umount', 'dd', 'rm', 'mknod', 'chroot', 'nsenter', 'insmod', 'modprobe', 'sysctl', 'ip', 'iptables', 'nc', 'wget', 'busybox']);
  }
  return applets;
}

/** Whether a command name may run: a harmless applet, or a name no image has. */
export function isSafeCommand(name: string): boolean {
  const first = name.trim().split(/\s+/)[0] ?? '';
  const base = posix.basename(first);
  if (SAFE_COMMANDS.has(base)) return true;
  return !appletNames().has(base) && !/^(sh|bash|ash|python|perl)/.test(base);
}

function safeArgv(v: unknown): unknown {
  if (typeof v === 'string') return isSafeCommand(v) ? v : 'true';
  if (Array.isArray(v)) {
    if (v.length === 0 || typeof v[0] !== 'string') return v;
    return isSafeCommand(v[0]) ? v : ['true', ...v.slice(1)];
  }
  return v;
}

function safeHealthTest(v: unknown): unknown {
  if (!Array.isArray(v)) return typeof v === 'string' ? safeArgv(v) : v;
  const kind = typeof v[0] === 'string' ? v[0].toUpperCase() : '';
  if (kind === 'CMD-SHELL') return [v[0], 'true'];
  if (kind === 'CMD') {
    const rest = safeArgv(v.slice(1));
    return [v[0], ...(Array.isArray(rest) ? rest : [rest])];
  }
  return v.some((x) => typeof x === 'string' && !isSafeCommand(x)) ? ['NONE'] : v;
}

function isUnderBindDir(p: string, ctx: SafetyContext): boolean {
  if (p.includes('\0')) return true; // no syscall accepts it
  if (p.split('/').includes('..')) return false;
  const n = posix.normalize(p);
  return n === ctx.bindDir || n.startsWith(`${ctx.bindDir}/`);
}

/** A bind spec `src:dst[:opts]`: the source must be a volume name or under the bind directory. */
function safeBind(b: unknown, ctx: SafetyContext): unknown {
  if (typeof b !== 'string') return b;
  const src = b.split(':')[0];
  if (src !== '' && !src.includes('/') && !src.includes('\\') && src !== '.' && src !== '..') return b;
  return isUnderBindDir(src, ctx) ? b : `${ctx.bindDir}/sub:${b.split(':').slice(1).join(':') || '/mnt'}`;
}

function safeSource(v: unknown, ctx: SafetyContext): unknown {
  if (typeof v !== 'string') return v;
  if (v !== '' && !v.includes('/') && !v.includes('\\') && v !== '.' && v !== '..') return v;
  return isUnderBindDir(v, ctx) ? v : `${ctx.bindDir}/sub`;
}

function safeAddress(v: unknown, ctx: SafetyContext): unknown {
  if (typeof v !== 'string') return v;
  if (!/[0-9:]/.test(v)) return v; // cannot be an address: the daemon must refuse it
  const m = /^10\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(v);
  if (m && m[1] === ctx.poolOctet && (m[4] === undefined || (Number(m[4]) >= 16 && Number(m[4]) <= 32))) return v;
  return ctx.safeSubnet;
}

function isHostNetwork(name: string, ctx: SafetyContext): boolean {
  const n = name.trim().toLowerCase();
  if (n.length === 0) return false;
  return n.includes('host') || ctx.hostNetwork.some((h) => h.toLowerCase() === n || (n.length >= 1 && h.toLowerCase().startsWith(n) && /^[0-9a-f]+$/.test(n)));
}

function safePortBindings(v: unknown): unknown {
  if (!v || typeof v !== 'object' || v instanceof RawJson) return v instanceof RawJson ? undefined : v;
  const walk = (b: unknown): unknown => {
    if (Array.isArray(b)) return b.map(walk);
    if (b && typeof b === 'object' && !(b instanceof RawJson) && !(b instanceof DupObject)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(b)) {
        const lk = k.toLowerCase();
        if (lk === 'hostip') { if (x === '' || x === '127.0.0.1' || typeof x !== 'string') out[k] = x; continue; }
        if (lk === 'hostport') {
          const s = String(x);
          if (!/\d/.test(s) || (/^\d+$/.test(s) && Number(s) >= 20000 && Number(s) <= 65535)) out[k] = x;
          continue;
        }
        out[k] = walk(x);
      }
      return out;
    }
    if (b instanceof DupObject) return undefined;
    return b;
  };
  return walk(v);
}

function safeLogConfig(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v) || v instanceof RawJson || v instanceof DupObject) return v === null ? v : undefined;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.toLowerCase() === 'type') { if (typeof x !== 'string' || SAFE_LOG_DRIVERS.has(x) || x === '') out[k] = x; else return undefined; }
    else if (k.toLowerCase() === 'config' && x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof RawJson) && !(x instanceof DupObject)) {
      out[k] = Object.fromEntries(Object.entries(x).filter(([ck]) => SAFE_LOG_OPTS.has(ck)));
    }
  }
  return out;
}

/** Changes (`changes=` of commit and import) that set a command become CMD ["true"]. */
export function safeChange(c: string): string {
  return /cmd|entrypoint|healthcheck|onbuild|shell/i.test(c) ? 'CMD ["true"]' : c;
}

/** The body with everything the header lists removed or replaced. */
export function safeBody(v: unknown, ctx: SafetyContext, parentKey = ''): unknown {
  if (v instanceof RawJson) return v;
  if (v instanceof DupObject) {
    const entries: Array<[string, unknown]> = [];
    for (const [k, x] of v.entries) {
      const r = safeEntry(k, x, ctx, parentKey);
      if (r !== undefined) entries.push([k, r]);
    }
    return new DupObject(entries);
  }
  if (Array.isArray(v)) return v.map((x) => safeBody(x, ctx, parentKey));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = safeEntry(k, x, ctx, parentKey);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return v;
}

/** One key's value made safe, or undefined to drop the key. */
function safeEntry(key: string, v: unknown, ctx: SafetyContext, parentKey: string): unknown {
  const k = key.toLowerCase();
  if (DROP_KEYS.has(k)) return undefined;
  if (NAMESPACE_KEYS.has(k)) return typeof v === 'string' && (v.toLowerCase().includes('host') || isHostNetwork(v, ctx)) ? undefined : (v instanceof RawJson || v instanceof DupObject ? undefined : v);
  if (parentKey === 'endpointsconfig' && isHostNetwork(key, ctx)) return undefined;
  if (k === 'cmd' || k === 'entrypoint') return v instanceof RawJson ? undefined : safeArgv(v);
  if (k === 'test' && parentKey === 'healthcheck') return v instanceof RawJson ? undefined : safeHealthTest(v);
  if (k === 'binds') return Array.isArray(v) ? v.map((b) => safeBind(b, ctx)) : (v instanceof RawJson ? undefined : v);
  if (k === 'source') return safeSource(v, ctx);
  if (k === 'portbindings') return safePortBindings(v);
  if (k === 'logconfig') return safeLogConfig(v);
  if (k === 'driver' && typeof v === 'string' && UNSAFE_DRIVERS.test(v)) return undefined;
  if (k === 'serveraddress') return `http://${SAFE_REGISTRY}/`;
  if (ADDRESS_KEYS.has(k) || parentKey === 'auxiliaryaddresses') {
    if (v instanceof RawJson) return undefined;
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof DupObject)) {
      return Object.fromEntries(Object.entries(v).map(([ak, av]) => [ak, safeAddress(av, ctx)]));
    }
    if (v instanceof DupObject) return undefined;
    return safeAddress(v, ctx);
  }
  if (k === 'mounts' && !Array.isArray(v)) return v instanceof RawJson || v === null || typeof v !== 'object' ? v : undefined;
  if (k === 'mounts') {
    // A bind mount without a safe source is dropped whole (a missing Source must not default to anything on the host).
    return (v as unknown[]).map((m) => safeBody(m, ctx, k)).filter((m) => {
      if (!m || typeof m !== 'object' || Array.isArray(m) || m instanceof RawJson) return true;
      const entries = m instanceof DupObject ? m.entries : Object.entries(m);
      const type = entries.find(([ek]) => ek.toLowerCase() === 'type')?.[1];
      const src = entries.find(([ek]) => ek.toLowerCase() === 'source')?.[1];
      return String(type).toLowerCase() !== 'bind' || (typeof src === 'string' && isUnderBindDir(src, ctx));
    });
  }
  return safeBody(v, ctx, k);
}
