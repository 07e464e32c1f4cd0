/**
 * The one module that makes device nodes, reads or writes extended
 * attributes and calls mount(2)/umount2(2). Node has neither mknod(2), the
 * *xattr(2) calls nor mount(2).
 *
 * Why a Perl helper and not setfattr/getfattr/mknod: the `attr` package
 * (setfattr, getfattr) is not part of a Debian base system and is missing on
 * this machine, while perl-base is Essential on Debian (always installed), and
 * Perl's core `syscall` reaches lsetxattr/llistxattr/lgetxattr/mknodat
 * directly. One helper process serves every call of one job (a layer apply, a
 * diff, an archive): a layer with 10,000 whiteouts costs one spawn, not
 * 10,000. Requests are pipelined over stdin (one line each, paths and values
 * hex-encoded so any byte survives), answered in order on stdout; callers may
 * fire many without awaiting each.
 *
 * The helper starts on the first call; `close()` ends it. Syscall numbers
 * are per architecture: x86-64 and arm64 are known. A long-lived helper
 * (`{ background: true }`) does not keep Node's event loop alive while it
 * has nothing to answer: berthd keeps one for its mounts, since spawning
 * mount(8) from a big Node process costs milliseconds of blocked event loop.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { NotImplementedError, SystemError } from '../errors.js';

// open_tree, move_mount and mount_setattr came after the unified numbering (≥ 403): the same on both.
const SYSCALLS: Record<string, { lsetxattr: number; lgetxattr: number; llistxattr: number; mknodat: number; mount: number; umount2: number; unshare: number; openTree: number; moveMount: number; mountSetattr: number; setns: number; lremovexattr: number }> = {
  x64: { lsetxattr: 189, lgetxattr: 192, llistxattr: 195, mknodat: 259, mount: 165, umount2: 166, unshare: 272, openTree: 428, moveMount: 429, mountSetattr: 442, setns: 308, lremovexattr: 198 },
  arm64: { lsetxattr: 6, lgetxattr: 9, llistxattr: 12, mknodat: 33, mount: 40, umount2: 39, unshare: 97, openTree: 428, moveMount: 429, mountSetattr: 442, setns: 268, lremovexattr: 15 },
};

/** Whether this architecture's syscall numbers are known to the helper. */
export function specialFsSupported(): boolean {
  return SYSCALLS[process.arch] !== undefined;
}

/** Linux errno values the callers tell apart. */
const ENODATA = 61;
const ENOTSUP = 95;
const EPERM = 1;

/*
 * Protocol, one request a line, fields separated by tabs, strings in hex:
 *   x <path> <name> <value>     lsetxattr            → K | E <errno>
 *   g <path> <name>             lgetxattr            → K <value> | E <errno>
 *   r <path> <name>             lremovexattr         → K | E <errno>
 *   l <path>                    llistxattr + lgetxattr → K [<name>:<value>]… | E <errno>
 *   L <prefix> <name>…          `l` for each <prefix><name>, one answer line for all
 *                               → K then per path K[<name>:<value>[,…]] | E<errno>
 *   n <path> <mode> <dev>       mknodat(AT_FDCWD)    → K | E <errno>
 *   m <target> <source> <fstype> <flags> <data>   mount → K | E <errno>
 *   u <target> <flags>          umount2              → K | E <errno>
 *   N <path>                    a new network namespace bind-mounted on the
 *                               existing file <path> (a forked child unshares
 *                               and mounts /proc/self/ns/net: `ip netns add`
 *                               without the exec)    → K | E <errno>
 *   I <target> <source> <uid_map> <gid_map>
 *                               an idmapped bind mount of <source> on <target>
 *                               (open_tree clone, mount_setattr
 *                               MOUNT_ATTR_IDMAP, move_mount); the user
 *                               namespace carrying the maps is a forked
 *                               child's, which unshares and waits while its
 *                               maps are written and the namespace opened
 *                                                    → K | E <errno>
 *   N <path> <userns>           the same, the network namespace made inside
 *                               the user namespace bound at <userns> (owned
 *                               by it): the child joins it and unshares,
 *                               this process binds the child's namespace
 *                                                    → K | E <errno>
 *   U <path> <uid_map> <gid_map>
 *                               a new user namespace with these maps,
 *                               bound on the existing file <path>
 *                                                    → K | E <errno>
 * Perl's syscall passes numbers as integers and strings as pointers; string
 * arguments must be writable variables, hence the copies.
 */
const HELPER = String.raw`
use strict;
use POSIX ();
my ($SETX, $GETX, $LISTX, $MKNOD, $MOUNT, $UMOUNT, $UNSHARE, $OPEN_TREE, $MOVE_MOUNT, $SETATTR, $SETNS, $REMOVEX) = @ARGV;
binmode STDIN; binmode STDOUT; $| = 1;
umask 0;
my $MAX = 65536;
my $LBUF; # the name-list buffer of xattr_pairs, made once: a fresh 64 KiB string per path cost more than the syscall
# A child in new namespaces, bound on files by this process (which keeps the host's right to mount):
# it joins the user namespace bound at $join (if any), unshares a user namespace whose maps this
# process writes (if $umap), then a network namespace (if $net); each [name, file] of $binds is
# then bound from /proc/<child>/ns/<name>. The child's errno comes back as its exit status (+100).
# Every xattr of a path (not following a symlink) as hex name:value pairs; (errno) when it cannot be listed.
sub xattr_pairs {
  my ($p) = @_;
  $LBUF = "\0" x $MAX unless defined $LBUF;
  my $n = syscall($LISTX + 0, $p, $LBUF, $MAX + 0);
  return ($! + 0) if $n == -1;
  my @pairs;
  foreach my $name (split /\0/, substr($LBUF, 0, $n)) {
    next if $name eq '';
    my $nm = $name; my $v = "\0" x $MAX;
    my $m = syscall($GETX + 0, $p, $nm, $v, $MAX + 0);
    next if $m == -1;
    push @pairs, unpack('H*', $name) . ':' . unpack('H*', substr($v, 0, $m));
  }
  return (0, @pairs);
}
sub ns_child {
  my ($join, $umap, $gmap, $net, $binds) = @_;
  pipe(my $ready_r, my $ready_w) or return $! + 0;
  pipe(my $go_r, my $go_w) or return $! + 0;
  my $pid = fork();
  return $! + 0 unless defined $pid;
  if ($pid == 0) {
    close $ready_r; close $go_w;
    my $r = 0; my $b = '';
    if ($join ne '') { my $u; $r = open($u, '<', $join) ? syscall($SETNS + 0, fileno($u), 0x10000000) : -1; }
    $r = syscall($UNSHARE + 0, 0x10000000) if $r != -1 && $umap ne '';
    if ($r == -1) { my $e = $! + 0; syswrite $ready_w, 'E'; POSIX::_exit(100 + $e); }
    syswrite $ready_w, 'K';
    sysread $go_r, $b, 1;
    $r = syscall($UNSHARE + 0, 0x40000000) if $net;
    if ($r == -1) { my $e = $! + 0; syswrite $ready_w, 'E'; POSIX::_exit(100 + $e); }
    syswrite $ready_w, 'K';
    sysread $go_r, $b, 1;
    POSIX::_exit(0);
  }
  close $ready_w; close $go_r;
  my $err = 0; my $st = ''; my $none = 'none'; my $empty = '';
  sysread $ready_r, $st, 1;
  if ($st eq 'K') {
    for my $pair (['uid_map', $umap], ['gid_map', $gmap]) {
      last if $err || $umap eq '';
      if (open(my $fh, '>', "/proc/$pid/$pair->[0]")) { $err = $! + 0 unless defined syswrite($fh, $pair->[1]); close $fh; }
      else { $err = $! + 0; }
    }
    syswrite $go_w, 'g';
    $st = ''; sysread $ready_r, $st, 1;
    if (!$err && $st eq 'K') {
      for my $bind (@$binds) {
        my $src = "/proc/$pid/ns/$bind->[0]"; my $dst = $bind->[1];
        if (syscall($MOUNT + 0, $src, $dst, $none, 4096, $empty) == -1) { $err = $! + 0; last; }
      }
    }
  }
  close $go_w; waitpid($pid, 0); close $ready_r;
  my $cst = $? >> 8;
  $err = $cst >= 100 ? $cst - 100 : 5 if !$err && $st ne 'K';
  return $err;
}
sub idmap_bind {
  my ($src, $dst, $umap, $gmap) = @_;
  pipe(my $ready_r, my $ready_w) or return $! + 0;
  pipe(my $done_r, my $done_w) or return $! + 0;
  my $pid = fork();
  return $! + 0 unless defined $pid;
  if ($pid == 0) {
    close $ready_r; close $done_w;
    my $r = syscall($UNSHARE + 0, 0x10000000);
    syswrite $ready_w, ($r == -1 ? 'E' : 'K');
    my $b = ''; sysread $done_r, $b, 1;
    POSIX::_exit(0);
  }
  close $ready_w; close $done_r;
  my $err = 0; my $st = ''; my $ns; my $tree = -1; my $empty = '';
  sysread $ready_r, $st, 1;
  $err = 1 if $st ne 'K';
  for my $pair (['uid_map', $umap], ['gid_map', $gmap]) {
    last if $err;
    if (open(my $fh, '>', "/proc/$pid/$pair->[0]")) { $err = $! + 0 unless defined syswrite($fh, $pair->[1]); close $fh; }
    else { $err = $! + 0; }
  }
  if (!$err) { open($ns, '<', "/proc/$pid/ns/user") or $err = $! + 0; }
  if (!$err) { $tree = syscall($OPEN_TREE + 0, -100, $src, 0x1 | 0x80000); $err = $! + 0 if $tree == -1; }
  if (!$err) {
    my $attr = pack('QQQQ', 0x00100000, 0, 0, fileno($ns));
    $err = $! + 0 if syscall($SETATTR + 0, $tree + 0, $empty, 0x1000, $attr, 32) == -1;
  }
  if (!$err) { $err = $! + 0 if syscall($MOVE_MOUNT + 0, $tree + 0, $empty, -100, $dst, 4) == -1; }
  POSIX::close($tree) if $tree >= 0;
  close $ns if $ns;
  close $done_w; waitpid($pid, 0); close $ready_r;
  return $err;
}
while (defined(my $line = <STDIN>)) {
  chomp $line;
  my @f = split /\t/, $line, -1;
  my $op = $f[0];
  my $path = pack('H*', $f[1]);
  if ($op eq 'x') {
    my $name = pack('H*', $f[2]); my $value = pack('H*', $f[3]);
    my $r = syscall($SETX + 0, $path, $name, $value, length($value) + 0, 0);
    print $r == -1 ? "E\t" . ($! + 0) . "\n" : "K\n";
  } elsif ($op eq 'r') {
    my $name = pack('H*', $f[2]);
    my $r = syscall($REMOVEX + 0, $path, $name);
    print $r == -1 ? "E\t" . ($! + 0) . "\n" : "K\n";
  } elsif ($op eq 'g') {
    my $name = pack('H*', $f[2]); my $buf = "\0" x $MAX;
    my $n = syscall($GETX + 0, $path, $name, $buf, $MAX + 0);
    print $n == -1 ? "E\t" . ($! + 0) . "\n" : "K\t" . unpack('H*', substr($buf, 0, $n)) . "\n";
  } elsif ($op eq 'l') {
    my ($err, @pairs) = xattr_pairs($path);
    print $err ? "E\t$err\n" : join("\t", 'K', @pairs) . "\n";
  } elsif ($op eq 'L') {
    my @out = ('K');
    for my $i (2 .. $#f) {
      my ($err, @pairs) = xattr_pairs($path . pack('H*', $f[$i]));
      if ($err) { push @out, 'E' . $err; next; }
      push @out, 'K' . join(',', @pairs);
    }
    print join("\t", @out) . "\n";
  } elsif ($op eq 'n') {
    my $r = syscall($MKNOD + 0, -100, $path, $f[2] + 0, $f[3] + 0);
    print $r == -1 ? "E\t" . ($! + 0) . "\n" : "K\n";
  } elsif ($op eq 'm') {
    my $src = pack('H*', $f[2]); my $type = pack('H*', $f[3]); my $data = pack('H*', $f[5]);
    my $r = syscall($MOUNT + 0, $src, $path, $type, $f[4] + 0, $data);
    print $r == -1 ? "E\t" . ($! + 0) . "\n" : "K\n";
  } elsif ($op eq 'u') {
    my $r = syscall($UMOUNT + 0, $path, $f[2] + 0);
    print $r == -1 ? "E\t" . ($! + 0) . "\n" : "K\n";
  } elsif ($op eq 'N' && defined $f[2] && $f[2] ne '') {
    my $err = ns_child(pack('H*', $f[2]), '', '', 1, [['net', $path]]);
    print $err ? "E\t$err\n" : "K\n";
  } elsif ($op eq 'U') {
    my $err = ns_child('', pack('H*', $f[2]), pack('H*', $f[3]), 0, [['user', $path]]);
    print $err ? "E\t$err\n" : "K\n";
  } elsif ($op eq 'N') {
    my $pid = fork();
    if (!defined $pid) { print "E\t" . ($! + 0) . "\n"; next; }
    if ($pid == 0) {
      # The child's errno comes back as its exit status (+100); POSIX::_exit skips END blocks and buffers.
      my $r = syscall($UNSHARE + 0, 0x40000000);
      if ($r != -1) { my $src = "/proc/self/ns/net"; my $none = "none"; my $empty = ""; $r = syscall($MOUNT + 0, $src, $path, $none, 4096, $empty); }
      POSIX::_exit($r == -1 ? 100 + ($! + 0) : 0);
    }
    waitpid($pid, 0);
    my $st = $? >> 8;
    print $st == 0 ? "K\n" : "E\t" . ($st >= 100 ? $st - 100 : 5) . "\n";
  } elsif ($op eq 'I') {
    my $err = idmap_bind(pack('H*', $f[2]), $path, pack('H*', $f[3]), pack('H*', $f[4]));
    print $err ? "E\t$err\n" : "K\n";
  } else {
    print "E\t22\n";
  }
}
`;

/** Paths per `L` request: bounds one answer line. */
const LIST_BATCH = 512;

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

export type SpecialNodeType = 'char' | 'block' | 'fifo';

interface Pending { resolve: (fields: string[]) => void; reject: (err: Error) => void }

/** The kernel's device number encoding for mknod (new_encode_dev). */
function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/**
 * A path for the helper process. `/proc/self/fd/<n>/…` (a name inside a
 * directory berthd holds open, image/rooted-fs.ts) means berthd's own
 * descriptor: the helper reaches it as `/proc/<berthd pid>/fd/<n>/…`, and
 * its l* calls never follow the last component.
 */
function helperPath(path: string): string {
  return path.startsWith('/proc/self/fd/') ? `/proc/${process.pid}/fd/${path.slice('/proc/self/fd/'.length)}` : path;
}

function hexOf(s: string | Buffer): string {
  return (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('hex');
}

function errnoMessage(errno: number): string {
  switch (errno) {
    case 1: return 'operation not permitted';
    case 2: return 'no such file or directory';
    case 16: return 'device or resource busy';
    case 19: return 'no such device';
    case 13: return 'permission denied';
    case 17: return 'file exists';
    case 20: return 'not a directory';
    case 22: return 'invalid argument';
    case 23: return 'too many open files in system';
    case 28: return 'no space left on device';
    case 61: return 'no data available';
    case 95: return 'operation not supported';
    default: return `errno ${errno}`;
  }
}

/** An error from the helper, with the errno the kernel returned. */
export class SpecialFsError extends SystemError {
  constructor(readonly op: string, readonly path: string, readonly errno: number) {
    super(`${op} ${path}: ${errnoMessage(errno)}`);
  }
}

/** errno values umount2 callers tell apart: not a mount point, busy, no such path. */
export const EINVAL = 22;
export const EBUSY = 16;
export const ENOENT = 2;

export class SpecialFs {
  private child: ChildProcessWithoutNullStreams | null = null;

  constructor(private readonly opts: { background?: boolean } = {}) {}

  private queue: Pending[] = [];
  private stdoutTail = '';
  private stderr = '';
  private dead: Error | null = null;

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const nums = SYSCALLS[process.arch];
    if (!nums) throw new NotImplementedError(`xattrs and device nodes are not supported on ${process.arch}`);
    // Spawned here, not by the spawner process (spawner.ts): once per job (or per berthd, for
    // its long-lived one), and a conversation over stdin and stdout, which the spawner does not relay.
    const child = spawn('perl', ['-e', HELPER, ...[nums.lsetxattr, nums.lgetxattr, nums.llistxattr, nums.mknodat, nums.mount, nums.umount2, nums.unshare, nums.openTree, nums.moveMount, nums.mountSetattr, nums.setns, nums.lremovexattr].map(String)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => this.onData(chunk));
    child.stderr.on('data', (c: Buffer) => { if (this.stderr.length < 4096) this.stderr += c.toString(); });
    child.stdin.on('error', () => undefined); // the exit handler reports it
    const fail = (err: Error) => {
      if (this.dead) return;
      this.dead = err;
      for (const p of this.queue.splice(0)) p.reject(err);
    };
    child.on('error', (e) => fail(new SystemError(`xattr/mknod helper (perl): ${e.message}`, { cause: e })));
    // 'close', not 'exit': answers still in the stdout pipe must be read first.
    child.on('close', (code, signal) => {
      fail(new SystemError(`xattr/mknod helper (perl) exited (${signal ?? code})${this.stderr ? `: ${this.stderr.trim()}` : ''}`));
    });
    this.child = child;
    if (this.opts.background) this.hold(false);
    return child;
  }

  /** For a background helper: keep the event loop alive only while answers are awaited. */
  private hold(busy: boolean): void {
    const c = this.child;
    if (!c || !this.opts.background) return;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as { ref?(): void; unref?(): void }[]) {
      if (busy) h.ref?.(); else h.unref?.();
    }
  }

  private onData(chunk: string): void {
    const text = this.stdoutTail + chunk;
    const lines = text.split('\n');
    this.stdoutTail = lines.pop()!;
    for (const line of lines) this.queue.shift()?.resolve(line.split('\t'));
    if (this.queue.length === 0) this.hold(false);
  }

  private call(fields: string[]): Promise<string[]> {
    if (this.dead) return Promise.reject(this.dead);
    let child: ChildProcessWithoutNullStreams;
    try { child = this.start(); } catch (e) { return Promise.reject(e); }
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) this.hold(true);
      this.queue.push({ resolve, reject });
      child.stdin.write(fields.join('\t') + '\n');
    });
  }

  /**
   * mknod for a character or block device or a fifo, with exactly `perm`
   * (the helper runs with umask 0), so callers need no chmod — chmod(2)
   * follows symlinks, and a node in a running container's tree may be
   * swapped for one.
   */
  async mknod(path: string, type: SpecialNodeType, perm: number, major = 0, minor = 0): Promise<void> {
    const kind = type === 'char' ? S_IFCHR : type === 'block' ? S_IFBLK : S_IFIFO;
    const r = await this.call(['n', hexOf(helperPath(path)), String(kind | (perm & 0o7777)), String(type === 'fifo' ? 0 : encodeDev(major, minor))]);
    if (r[0] !== 'K') throw new SpecialFsError('mknod', path, Number(r[1]));
  }

  /**
   * lsetxattr (never follows a symlink). With `ignoreUnsupported`, a file
   * system or file type that refuses the attribute (ENOTSUP, EPERM: user.*
   * on a symlink) is skipped and false returned, as dockerd does for xattrs
   * from image layers.
   */
  async setXattr(path: string, name: string, value: Buffer | string, opts: { ignoreUnsupported?: boolean } = {}): Promise<boolean> {
    const r = await this.call(['x', hexOf(helperPath(path)), hexOf(name), hexOf(typeof value === 'string' ? Buffer.from(value) : value)]);
    if (r[0] === 'K') return true;
    const errno = Number(r[1]);
    if (opts.ignoreUnsupported && (errno === ENOTSUP || errno === EPERM)) return false;
    throw new SpecialFsError(`setxattr ${name}`, path, errno);
  }

  /** lremovexattr (never follows a symlink); false when the file had no such attribute. */
  async removeXattr(path: string, name: string): Promise<boolean> {
    const r = await this.call(['r', hexOf(helperPath(path)), hexOf(name)]);
    if (r[0] === 'K') return true;
    const errno = Number(r[1]);
    if (errno === ENODATA) return false;
    throw new SpecialFsError(`removexattr ${name}`, path, errno);
  }

  /** lgetxattr; undefined when the file has no such attribute. */
  async getXattr(path: string, name: string): Promise<Buffer | undefined> {
    const r = await this.call(['g', hexOf(helperPath(path)), hexOf(name)]);
    if (r[0] === 'K') return Buffer.from(r[1] ?? '', 'hex');
    const errno = Number(r[1]);
    if (errno === ENODATA || errno === ENOTSUP) return undefined;
    throw new SpecialFsError(`getxattr ${name}`, path, errno);
  }

  /** Every extended attribute of a file (not following a symlink), by name. */
  async listXattrs(path: string): Promise<Map<string, Buffer>> {
    const r = await this.call(['l', hexOf(helperPath(path))]);
    const out = new Map<string, Buffer>();
    if (r[0] !== 'K') {
      const errno = Number(r[1]);
      if (errno === ENOTSUP) return out;
      throw new SpecialFsError('listxattr', path, errno);
    }
    for (const pair of r.slice(1)) {
      const colon = pair.indexOf(':');
      out.set(Buffer.from(pair.slice(0, colon), 'hex').toString('utf8'), Buffer.from(pair.slice(colon + 1), 'hex'));
    }
    return out;
  }

  /**
   * `listXattrs` of many files in one round trip to the helper (a walk
   * asks for a directory's entries at once), each named `prefix` + name
   * (`prefix` a directory's path with its trailing slash, or ''): per name
   * its attributes, or the errno listing them failed with (ENOTSUP gives
   * an empty map).
   */
  async listXattrsOfMany(prefix: string, names: string[]): Promise<(Map<string, Buffer> | number)[]> {
    const out: (Map<string, Buffer> | number)[] = [];
    const dir = hexOf(helperPath(prefix));
    for (let i = 0; i < names.length; i += LIST_BATCH) {
      const part = names.slice(i, i + LIST_BATCH);
      const r = await this.call(['L', dir, ...part.map((n) => hexOf(prefix ? n : helperPath(n)))]);
      if (r[0] !== 'K' || r.length !== part.length + 1) throw new SystemError(`listxattr: unexpected answer from the helper (${r[0]})`);
      for (const field of r.slice(1)) {
        if (field[0] === 'E') {
          const errno = Number(field.slice(1));
          out.push(errno === ENOTSUP ? new Map() : errno);
          continue;
        }
        const attrs = new Map<string, Buffer>();
        if (field.length > 1) {
          for (const pair of field.slice(1).split(',')) {
            const colon = pair.indexOf(':');
            attrs.set(Buffer.from(pair.slice(0, colon), 'hex').toString('utf8'), Buffer.from(pair.slice(colon + 1), 'hex'));
          }
        }
        out.push(attrs);
      }
    }
    return out;
  }

  /** mount(2); `data` is the file system's option string. */
  async mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void> {
    const r = await this.call(['m', hexOf(target), hexOf(source), hexOf(fstype), String(flags), hexOf(data)]);
    if (r[0] !== 'K') throw new SpecialFsError(`mount ${fstype}`, target, Number(r[1]));
  }

  /** umount2(2) with `flags` (MNT_DETACH = 2). */
  async umount(target: string, flags = 0): Promise<void> {
    const r = await this.call(['u', hexOf(target), String(flags)]);
    if (r[0] !== 'K') throw new SpecialFsError('umount', target, Number(r[1]));
  }

  /**
   * An idmapped bind mount of the directory `source` on `target`: files
   * show with their IDs mapped as a user namespace with these
   * `/proc/<pid>/uid_map` and `gid_map` lines maps them (kernel ≥ 5.12;
   * overlayfs takes such mounts as layers from 5.19).
   */
  async idmapBind(source: string, target: string, uidMap: string, gidMap: string): Promise<void> {
    const r = await this.call(['I', hexOf(target), hexOf(source), hexOf(uidMap), hexOf(gidMap)]);
    if (r[0] !== 'K') throw new SpecialFsError('idmapped bind mount', target, Number(r[1]));
  }

  /**
   * A new network namespace, bind-mounted on the existing (empty) file
   * `path`; with `userns`, made inside (owned by) the user namespace bound
   * at that path.
   */
  async newNetns(path: string, userns?: string): Promise<void> {
    const r = await this.call(['N', hexOf(path), ...(userns ? [hexOf(userns)] : [])]);
    if (r[0] !== 'K') throw new SpecialFsError('new network namespace', path, Number(r[1]));
  }

  /** A new user namespace with these `uid_map`/`gid_map` lines, bind-mounted on the existing (empty) file `path`. */
  async newUserns(path: string, uidMap: string, gidMap: string): Promise<void> {
    const r = await this.call(['U', hexOf(path), hexOf(uidMap), hexOf(gidMap)]);
    if (r[0] !== 'K') throw new SpecialFsError('new user namespace', path, Number(r[1]));
  }

  /** The helper exited or could not start: every call from now on fails. */
  get isDead(): boolean {
    return this.dead !== null;
  }

  /** The helper's pid while it runs (tests). */
  get pid(): number | undefined {
    return this.dead ? undefined : this.child?.pid;
  }

  /** Ends the helper; pending calls still get their answers first. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || this.dead) return;
    await new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      child.stdin.end();
    });
  }
}

let shared: SpecialFs | undefined;

/**
 * The process-wide background helper, for calls that come one or a few at a
 * time (mounts, a build's xattr look-ups): a perl start costs 10–20 ms, paid
 * once. Jobs that make thousands of calls (a layer apply) keep their own.
 */
export function sharedSpecialFs(): SpecialFs {
  // A helper that died (killed, out of memory) is replaced: the calls it failed stay failed,
  // but berthd's mounts and namespaces must not stop working until it restarts.
  if (!shared || shared.isDead) shared = new SpecialFs({ background: true });
  return shared;
}

/** Runs `fn` with a helper and always ends the helper afterwards. */
export async function withSpecialFs<T>(fn: (fsx: SpecialFs) => Promise<T>): Promise<T> {
  const fsx = new SpecialFs();
  try {
    return await fn(fsx);
  } finally {
    await fsx.close();
  }
}
