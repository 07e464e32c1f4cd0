/**
 * The delay line: delay and jitter on kernels without sch_netem. NFQUEUE
 * rules in a container's OUTPUT/INPUT (fault-plan.ts) hand each packet to
 * a small helper process, which holds it for the delay (± a uniform jitter,
 * as netem's default distribution) and then lets it go (NF_ACCEPT). The
 * kernel keeps the packet; the helper sees only its metadata (copy mode
 * META), so a packet costs one small netlink message each way. Verdicts may
 * come out of order, so jitter reorders packets as it does with netem.
 * Senders never wait: a queued packet counts as sent.
 *
 * Why a Perl helper over raw netlink, and not a C program or Node: Node has
 * no netlink sockets, a C helper would need a compiler and headers on every
 * host and a build step, while perl-base is Essential on Debian (always
 * installed — fs-special.ts uses it the same way) and its core `socket`,
 * `syscall` (setns) and Time::HiRes reach everything the nfnetlink_queue
 * protocol needs. The protocol is small: bind a queue (NFQNL_MSG_CONFIG),
 * read NFQNL_MSG_PACKET, answer NFQNL_MSG_VERDICT.
 *
 * One helper per container, in its network namespace (an NFQUEUE belongs to
 * one); `--queue-bypass` lets packets through while none is bound. A helper
 * ends — letting what it holds go at once — when its fault changes or is
 * removed (SIGTERM), when the container's init dies, and when berthd goes
 * (its stdin, a pipe from berthd, closes); a held packet is never left in
 * the kernel's queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NotImplementedError, SystemError } from '../errors.js';
import { QUEUE_IN, QUEUE_OUT, type DelaySpec } from './fault-plan.js';

const READY_TIMEOUT_MS = 10_000;

/** setns(2) per architecture. */
const SETNS: Record<string, number> = { x64: 308, arm64: 268 };

const HELPER = String.raw`
use strict; use warnings;
use Socket qw(SOL_SOCKET);
use Time::HiRes qw(time);
$| = 1;
my ($netns, $pid, $setns_nr, @specs) = @ARGV;
open(my $ns, '<', $netns) or die "open $netns: $!\n";
syscall($setns_nr, fileno($ns), 0x40000000) == 0 or die "setns: $!\n";
socket(my $s, 16, 3, 12) or die "netlink socket: $!\n";       # AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER
setsockopt($s, SOL_SOCKET, 33, pack('i', 8 << 20));          # SO_RCVBUFFORCE: room for bursts
setsockopt($s, 270, 5, pack('i', 1));                         # SOL_NETLINK, NETLINK_NO_ENOBUFS
bind($s, pack('S x2 L L', 16, 0, 0)) or die "bind: $!\n";
my ($seq, $stop, %delay, %jitter, @heap, %acked) = (0, 0);
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
$SIG{PIPE} = 'IGNORE';

sub attr { my ($t, $d) = @_; my $l = 4 + length $d; pack('S S', $l, $t) . $d . ("\0" x ((4 - $l % 4) % 4)) }
sub msg {                                                     # nlmsghdr + nfgenmsg(AF_UNSPEC, v0, queue)
  my ($type, $flags, $queue, $attrs) = @_;
  my $body = pack('C C n', 0, 0, $queue) . $attrs;
  pack('L S S L L', 16 + length $body, (3 << 8) | $type, $flags, ++$seq, 0) . $body;
}
sub hpush {
  push @heap, $_[0]; my $i = $#heap;
  while ($i > 0) { my $p = ($i - 1) >> 1; last if $heap[$p][0] <= $heap[$i][0]; @heap[$p, $i] = @heap[$i, $p]; $i = $p }
}
sub hpop {
  my $top = $heap[0]; my $last = pop @heap;
  if (@heap) {
    $heap[0] = $last; my ($i, $n) = (0, scalar @heap);
    while (1) {
      my ($l, $m) = (2 * $i + 1, $i);
      $m = $l if $l < $n && $heap[$l][0] < $heap[$m][0];
      $m = $l + 1 if $l + 1 < $n && $heap[$l + 1][0] < $heap[$m][0];
      last if $m == $i; @heap[$m, $i] = @heap[$i, $m]; $i = $m;
    }
  }
  $top;
}
sub release { my ($q, $id) = @_; send($s, msg(1, 1, $q, attr(2, pack('N N', 1, $id))), 0) }   # NFQA_VERDICT_HDR: NF_ACCEPT
sub take {                                                    # every message in one datagram
  my ($buf) = @_;
  while (length $buf >= 16) {
    my ($len, $type, $flags, $sq) = unpack('L S S L', $buf);
    last if $len < 16 || $len > length $buf;
    if ($type == 2) { $acked{$sq} = unpack('l', substr($buf, 16, 4)) }          # NLMSG_ERROR (0 = ack)
    elsif ($type == (3 << 8)) {                                                  # NFQNL_MSG_PACKET
      my $q = unpack('n', substr($buf, 18, 2));
      my $off = 20;
      while ($off + 4 <= $len) {
        my ($al, $at) = unpack('S S', substr($buf, $off, 4));
        last if $al < 4;
        if (($at & 0x7fff) == 1) {                                               # NFQA_PACKET_HDR: packet_id first
          my $id = unpack('N', substr($buf, $off + 4, 4));
          my $d = $delay{$q} // 0;
          $d += (2 * rand() - 1) * $jitter{$q} if $jitter{$q};
          hpush([time + ($d > 0 ? $d : 0) / 1e6, $q, $id]);
          last;
        }
        $off += ($al + 3) & ~3;
      }
    }
    $buf = substr($buf, ($len + 3) & ~3);
  }
}
sub drain { while (defined(recv($s, my $buf, 1 << 16, 0x40))) { take($buf) } }   # MSG_DONTWAIT
for my $spec (@specs) {
  my ($q, $d, $j) = split /:/, $spec;
  ($delay{$q}, $jitter{$q}) = ($d, $j);
  # NFQA_CFG_CMD bind, NFQA_CFG_PARAMS (copy META), NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK + FLAGS (GSO: no segmenting)
  send($s, msg(2, 1 | 4, $q, attr(1, pack('C x n', 1, 0)) . attr(2, pack('N C', 0, 1)) . attr(3, pack('N', 10000)) . attr(4, pack('N', 4)) . attr(5, pack('N', 4))), 0)
    or die "send: $!\n";
  my $want = $seq;
  until (exists $acked{$want}) { recv($s, my $buf, 1 << 16, 0) // die "recv: $!\n"; take($buf) }
  die "binding queue $q: error " . -$acked{$want} . "\n" if $acked{$want};
}
print "ready\n";
my $in = 1;
until ($stop) {
  my $now = time;
  release(@{hpop()}[1, 2]) while @heap && $heap[0][0] <= $now;
  my $wait = @heap ? $heap[0][0] - $now : 0.5;
  $wait = 0.5 if $wait > 0.5;
  my $rin = ''; vec($rin, fileno($s), 1) = 1; vec($rin, 0, 1) = 1 if $in;
  if (select(my $rout = $rin, undef, undef, $wait > 0 ? $wait : 0) > 0) {
    drain() if vec($rout, fileno($s), 1);
    if ($in && vec($rout, 0, 1)) { my $r = sysread(STDIN, my $x, 64); last unless $r }   # berthd is gone
  }
  last unless kill 0, $pid;                                   # the container's init is gone
}
drain();
release(@{hpop()}[1, 2]) while @heap;
`;

interface Line { child: ChildProcess; key: string; exited: Promise<void> }

/** The running delay lines, by container. */
export class DelayLines {
  private readonly lines = new Map<string, Line>();

  /**
   * Makes the container's delay line hold back what `spec` says (nothing:
   * no helper). `pid` is the container's init, `netns` its namespace.
   */
  async set(containerId: string, pid: number, netns: string, spec: { out?: DelaySpec; in?: DelaySpec }): Promise<void> {
    const queues = [[QUEUE_OUT, spec.out], [QUEUE_IN, spec.in]].filter((q): q is [number, DelaySpec] => q[1] !== undefined);
    const key = JSON.stringify([pid, netns, queues]);
    const current = this.lines.get(containerId);
    if (current?.key === key) return;
    await this.stop(containerId);
    if (!queues.length) return;
    const setns = SETNS[process.arch];
    if (setns === undefined) throw new NotImplementedError(`delay without netem is not supported on ${process.arch}`);
    const args = queues.map(([q, d]) => `${q}:${d.delayUs}:${d.jitterUs}`);
    // Spawned here, not by the spawner process (spawner.ts): a long-lived helper that berthd
    // stops and restarts with its pipes (fault injection, not a container's start or stop).
    const child = spawn('perl', ['-e', HELPER, netns, String(pid), String(setns), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    child.stdin!.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      // Binding takes milliseconds; a helper that says nothing for long is stuck, and ends.
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new SystemError(`delay line did not start: ${stderr.trim()}`)); }, READY_TIMEOUT_MS);
      const onOut = (c: Buffer) => { if (c.toString('utf8').includes('ready')) { clearTimeout(timer); child.stdout!.off('data', onOut); resolve(); } };
      child.stdout!.on('data', onOut);
      child.once('error', (e) => { clearTimeout(timer); reject(new SystemError(`delay line: ${e.message}`)); });
      child.once('close', (code) => { clearTimeout(timer); reject(new SystemError(`delay line ended (status ${code}): ${stderr.trim()}`)); });
    });
    child.stdout!.resume();
    // berthd does not stay up for a helper; the helper ends when berthd does (its stdin closes).
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    const line: Line = { child, key, exited };
    this.lines.set(containerId, line);
    void exited.then(() => { if (this.lines.get(containerId) === line) this.lines.delete(containerId); });
  }

  /** Ends the container's delay line (it lets what it holds go first) and waits for it. */
  async stop(containerId: string): Promise<void> {
    const line = this.lines.get(containerId);
    if (!line) return;
    this.lines.delete(containerId);
    line.child.kill('SIGTERM');
    await line.exited;
  }

  /** Ends every delay line (berthd is closing). */
  async close(): Promise<void> {
    await Promise.all([...this.lines.keys()].map((id) => this.stop(id)));
  }
}
