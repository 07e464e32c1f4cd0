/**
 * The files Docker bind-mounts into every container — /etc/hostname,
 * /etc/hosts, /etc/resolv.conf — written into the container's directory on
 * the host, so they stay out of the image layers and out of `commit`.
 *
 * resolv.conf follows dockerd: on the default bridge (and with --network
 * none) the host's file minus loopback resolvers, which a private network
 * namespace cannot reach; on user-defined networks the network's DNS server
 * (aardvark-dns at the gateway, berth's counterpart of Docker's 127.0.0.11);
 * `--dns`, `--dns-search` and `--dns-option` replace the matching lines.
 * /etc/hosts gets the container's own address and `--add-host` entries, then
 * a line per legacy link (engine/legacy-links.ts), which a linked container's
 * restart rewrites in place (updateHostsEntries).
 */
import { lstat, open, readFile, symlink, writeFile, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { ConflictError } from '../errors.js';
import { RootedFs } from '../image/rooted-fs.js';
import { parseExtraHost } from '../network/extra-hosts.js';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';

export interface EtcFiles { hostname: string; hosts: string; resolvConf: string }

export interface EtcOptions {
  hostname: string;
  domainname: string;
  networkMode: string;
  /** The container's addresses, primary network first; none (--network none) maps the name to 127.0.1.1. */
  addresses?: string[];
  /** `--add-host` entries, `name:ip`. */
  extraHosts?: string[];
  /** Name servers to use instead of the host's (the network's DNS server, or `--dns`). */
  nameservers?: string[];
  /** `--dns-search`; undefined keeps the host's search domains. */
  search?: string[];
  /** `--dns-option`; undefined keeps the host's options. */
  options?: string[];
  /** Legacy links: `<child ip>\t<alias> <hostname> <name>` lines after the container's own. */
  links?: { ip: string; names: string }[];
  /** `--network container:<id>`: that container's hosts and resolv.conf, used as they are. */
  sharedFrom?: { hosts: string; resolvConf: string };
}

export function etcFilePaths(containerDir: string): EtcFiles {
  return { hostname: join(containerDir, 'hostname'), hosts: join(containerDir, 'hosts'), resolvConf: join(containerDir, 'resolv.conf') };
}

const LOOPBACK_NAMESERVER = /^\s*nameserver\s+(127\.|::1)/;

/** Docker's fallback when the host has no usable resolver (libnetwork resolvconf defaults). */
const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

async function hostResolvConf(): Promise<string> {
  return readFile('/etc/resolv.conf', 'utf8').catch(() => '');
}

function resolvConf(host: string, o: EtcOptions): string {
  const lines = host.split('\n');
  const noOverrides = !o.nameservers?.length && o.search === undefined && o.options === undefined;
  if (noOverrides) {
    // dockerd drops loopback resolvers (systemd-resolved, dnsmasq on 127.0.0.53) the same way.
    const kept = lines.filter((l) => !LOOPBACK_NAMESERVER.test(l));
    if (kept.some((l) => /^\s*nameserver\s/.test(l))) return kept.join('\n');
    return [...kept.filter((l) => l.trim()), ...DEFAULT_NAMESERVERS.map((n) => `nameserver ${n}`), ''].join('\n');
  }
  const field = (re: RegExp) => lines.filter((l) => re.test(l)).map((l) => l.trim().split(/\s+/).slice(1)).flat();
  let nameservers = o.nameservers?.length ? o.nameservers : field(/^\s*nameserver\s/).filter((n) => !/^(127\.|::1$)/.test(n));
  if (nameservers.length === 0) nameservers = DEFAULT_NAMESERVERS;
  // The last search/domain line wins in resolv.conf(5).
  const searchLine = lines.filter((l) => /^\s*(search|domain)\s/.test(l)).at(-1);
  const search = o.search ?? (searchLine ? searchLine.trim().split(/\s+/).slice(1) : []);
  const options = o.options ?? field(/^\s*options\s/);
  return [
    ...nameservers.map((n) => `nameserver ${n}`),
    ...(search.length && !(search.length === 1 && search[0] === '.') ? [`search ${search.join(' ')}`] : []),
    ...(options.length ? [`options ${options.join(' ')}`] : []),
    '',
  ].join('\n');
}

function extraHostLines(extra: string[] | undefined): string[] {
  return (extra ?? []).map((e) => {
    const h = parseExtraHost(e);
    return `${h.ip}\t${h.name}`;
  });
}

export async function writeEtcFiles(containerDir: string, o: EtcOptions): Promise<EtcFiles> {
  const p = etcFilePaths(containerDir);
  if (o.sharedFrom) {
    await writeFile(p.hostname, `${o.hostname}\n`);
    await writeFile(p.hosts, o.sharedFrom.hosts);
    await writeFile(p.resolvConf, o.sharedFrom.resolvConf);
    return p;
  }
  if (o.networkMode === 'host') {
    await writeFile(p.hostname, `${o.hostname || hostHostname()}\n`);
    const hosts = await readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n');
    const extra = extraHostLines(o.extraHosts);
    await writeFile(p.hosts, extra.length ? `${hosts.replace(/\n?$/, '\n')}${extra.join('\n')}\n` : hosts);
    const host = await hostResolvConf();
    await writeFile(p.resolvConf, o.nameservers?.length || o.search || o.options ? resolvConf(host, o) : host);
    return p;
  }
  const fqdn = o.domainname ? `${o.hostname}.${o.domainname}` : o.hostname;
  const names = fqdn === o.hostname ? o.hostname : `${fqdn} ${o.hostname}`;
  const own = o.addresses?.length ? o.addresses.map((a) => `${a}\t${names}`)
    // With --network none there is no address of its own; the name still resolves locally.
    : [`127.0.1.1\t${names}`];
  await writeFile(p.hostname, `${o.hostname}\n`);
  await writeFile(p.hosts, [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...extraHostLines(o.extraHosts),
    ...own,
    ...(o.links ?? []).map((l) => `${l.ip}\t${l.names}`),
    '',
  ].join('\n'));
  await writeFile(p.resolvConf, resolvConf(await hostResolvConf(), o));
  return p;
}

/**
 * `/etc/mtab -> /proc/mounts`, which Docker's init layer gives every
 * container whose image has no /etc/mtab (tools such as `df` and `mount`
 * read it). Made in the container's own layer when its overlay is mounted,
 * through the rooted walker (a container that ran before may have made /etc
 * a symlink); `docker diff` and `commit` leave the link out.
 */
export async function addMtab(rootfs: string): Promise<void> {
  const fs = await RootedFs.openDir(rootfs);
  try {
    const etc = await fs.ensureDir('/etc');
    try {
      const mtab = etc.child('mtab');
      if (await lstat(mtab).catch(() => null)) return;
      await symlink('/proc/mounts', mtab).catch((e) => { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; });
    } finally {
      await etc.close();
    }
  } finally {
    await fs.close();
  }
}

/** Beyond this a container's /etc/hosts (which it may write) is not read back. */
const HOSTS_MAX_BYTES = 1024 * 1024;

/** The text of an open file the container can write: a regular file of at most HOSTS_MAX_BYTES, or why it is refused. */
async function readBoundedText(fh: FileHandle): Promise<{ text: string } | { refused: string }> {
  const st = await fh.stat();
  if (!st.isFile()) return { refused: 'not a regular file' };
  if (st.size > HOSTS_MAX_BYTES) return { refused: `larger than ${HOSTS_MAX_BYTES} bytes` };
  const buf = Buffer.alloc(st.size);
  const { bytesRead } = await fh.read(buf, 0, st.size, 0);
  return { text: buf.subarray(0, bytesRead).toString('utf8') };
}

/**
 * A container's /etc/hosts and /etc/resolv.conf as they are now, for a
 * container that joins its network (`--network container:<id>`) to start
 * with. The container writes them: each is read through no symlink, as a
 * regular file of at most HOSTS_MAX_BYTES, and a bigger one refuses the
 * join (a sparse file costs the container nothing and berthd its size in
 * memory); a missing one is empty.
 */
export async function sharedEtcFiles(containerDir: string, containerId: string): Promise<{ hosts: string; resolvConf: string }> {
  const p = etcFilePaths(containerDir);
  const read = async (path: string, name: string): Promise<string> => {
    let fh;
    try {
      fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
    try {
      const r = await readBoundedText(fh);
      if ('refused' in r) throw new ConflictError(`cannot join the network of container ${containerId}: its ${name} is ${r.refused}`);
      return r.text;
    } finally {
      await fh.close();
    }
  };
  const [hosts, resolvConf] = await Promise.all([read(p.hosts, '/etc/hosts'), read(p.resolvConf, '/etc/resolv.conf')]);
  return { hosts, resolvConf };
}

/**
 * Rewrites lines of a running container's /etc/hosts in place (the file is
 * bind-mounted: the same inode must keep it). The container can write the
 * file, so it is read as text of bounded size, through no symlink.
 */
export async function editHostsFile(path: string, edit: (lines: string[]) => string[]): Promise<void> {
  const fh = await open(path, constants.O_RDWR | constants.O_NOFOLLOW);
  try {
    const r = await readBoundedText(fh);
    if ('refused' in r) throw new Error(`${path} is ${r.refused}`);
    const before = r.text;
    const after = edit(before.split('\n')).join('\n');
    if (after === before) return;
    const out = Buffer.from(after);
    await fh.truncate(0);
    await fh.write(out, 0, out.length, 0);
  } finally {
    await fh.close();
  }
}

/** The first name of a hosts line (the alias of a link's line). */
function firstName(line: string): string {
  if (line.trimStart().startsWith('#')) return '';
  return line.trim().split(/\s+/)[1] ?? '';
}

/** A linked container's new address on the lines named by `aliases` (libnetwork's etchosts.Update). */
export async function updateHostsEntries(path: string, aliases: string[], ip: string): Promise<void> {
  const names = new Set(aliases);
  await editHostsFile(path, (lines) => lines.map((l) => (names.has(firstName(l)) ? `${ip}\t${l.trim().split(/\s+/).slice(1).join(' ')}` : l)));
}

/** Drops the lines named by `aliases` (a link removed while its parent runs). */
export async function removeHostsEntries(path: string, aliases: string[]): Promise<void> {
  const names = new Set(aliases);
  await editHostsFile(path, (lines) => lines.filter((l) => !names.has(firstName(l))));
}
