/**
 * A TCP connection to a port on the loopback of another network namespace
 * (a pod's), for PortForward: a small helper process enters the namespace
 * (setns), connects to 127.0.0.1:<port> (then [::1]) and copies bytes
 * between its stdin/stdout and the connection. Node cannot enter a
 * namespace on one thread, and a helper per connection ends with it.
 *
 * Why Perl: as for the delay line (network/fault-delayline.ts), perl-base
 * is Essential on Debian, and its core `socket` and `syscall` (setns) are
 * all this needs; socat or a compiled helper would be a new dependency.
 *
 * The helper half-closes the connection when its stdin ends (the client
 * stopped sending), and exits when the port's side ends the connection
 * (after its last bytes reached stdout), when berthd kills it (its client
 * went) or when berthd dies (PR_SET_PDEATHSIG). A failure to connect is its
 * stderr and a non-zero status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NotImplementedError } from '../../errors.js';

/** setns(2) and prctl(2) per architecture (setns as in network/fault-delayline.ts). */
const SETNS: Record<string, number> = { x64: 308, arm64: 268 };
const PRCTL: Record<string, number> = { x64: 157, arm64: 167 };
const CLONE_NEWNET = 0x40000000;

const HELPER = String.raw`
use strict; use warnings;
use Socket qw(AF_INET AF_INET6 SOCK_STREAM SHUT_WR pack_sockaddr_in pack_sockaddr_in6 inet_pton);
$SIG{PIPE} = 'IGNORE';
my ($netns, $setns_nr, $prctl_nr, $port) = @ARGV;
# PR_SET_PDEATHSIG: if berthd dies, so does the helper (an idle connection would otherwise hold it forever).
syscall($prctl_nr, 1, 9) if $prctl_nr;
if ($netns ne '') {
  open(my $ns, '<', $netns) or die "open network namespace: $!\n";
  syscall($setns_nr, fileno($ns), ${CLONE_NEWNET}) == 0 or die "setns: $!\n";
  close($ns);
}
my $s;
my $err = '';
for my $try ([AF_INET, pack_sockaddr_in($port, inet_pton(AF_INET, '127.0.0.1'))], [AF_INET6, pack_sockaddr_in6($port, inet_pton(AF_INET6, '::1'))]) {
  socket($s, $try->[0], SOCK_STREAM, 0) or do { $err = "$!"; next };
  last if connect($s, $try->[1]);
  $err = "$!"; close($s); undef $s;
}
defined $s or die "dial tcp localhost:$port: connect: $err\n";
binmode(STDIN); binmode(STDOUT);
my ($in_open, $buf) = (1);
sub put { my ($fh, $d) = @_; while (length $d) { my $n = syswrite($fh, $d); return 0 unless defined $n; substr($d, 0, $n) = '' } 1 }
while (1) {
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1 if $in_open;
  vec($rin, fileno($s), 1) = 1;
  my $n = select(my $rout = $rin, undef, undef, undef);
  next if $n < 0 && $!{EINTR};
  die "select: $!\n" if $n < 0;
  if ($in_open && vec($rout, fileno(STDIN), 1)) {
    my $r = sysread(STDIN, $buf, 65536);
    if (!$r) { shutdown($s, SHUT_WR); $in_open = 0 } else { put($s, $buf) or exit 0 }
  }
  if (vec($rout, fileno($s), 1)) {
    my $r = sysread($s, $buf, 65536);
    last if !$r;
    put(\*STDOUT, $buf) or exit 0;
  }
}
exit 0;
`;

/**
 * Starts the helper for `port` in the namespace at `netnsPath` ('' for
 * berthd's own). Its stdin and stdout are the connection; the caller
 * kills it when the client goes.
 */
export function dialInNetns(netnsPath: string, port: number): ChildProcess {
  const setns = SETNS[process.arch];
  if (netnsPath && setns === undefined) throw new NotImplementedError(`port forwarding is not supported on ${process.arch}`);
  // Spawned here, not by the spawner process (spawner.ts), which relays output only: this
  // helper's stdin is the client's side of a live connection, written for as long as it lasts.
  return spawn('perl', ['-e', HELPER, netnsPath, String(setns ?? 0), String(PRCTL[process.arch] ?? 0), String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
}
