/**
 * Puts a container's faults (fault-rules.ts) into its network namespace:
 * iptables-restore for the two fault chains (one transaction: the chains
 * change from one list to the next at once), a jump to each from INPUT and
 * OUTPUT, and one tc call per interface for its root qdisc. Everything runs
 * through nsenter(1) into the namespace of the container's init.
 */
import { NotImplementedError } from '../errors.js';
import { CommandError } from '../errors.js';
import { runCommand } from '../run-command.js';
import { CHAIN_IN, CHAIN_OUT, iptablesRestoreInput, qdiscCommand, type Fault } from './fault-rules.js';

function inNamespace(netns: string, argv: string[], input?: string): Promise<string> {
  return runCommand(['nsenter', `--net=${netns}`, ...argv], input === undefined ? {} : { input });
}

/** Makes the namespace at `netns` (a `/proc/<pid>/ns/net` or a named one) hold exactly `faults`. */
export async function applyFaults(netns: string, interfaces: readonly string[], faults: readonly Fault[]): Promise<void> {
  await inNamespace(netns, ['iptables-restore', '-w', '--noflush'], iptablesRestoreInput(faults));
  for (const [chain, from] of [[CHAIN_IN, 'INPUT'], [CHAIN_OUT, 'OUTPUT']]) {
    const present = await inNamespace(netns, ['iptables', '-w', '-C', from, '-j', chain]).then(() => true, () => false);
    if (!present) await inNamespace(netns, ['iptables', '-w', '-I', from, '1', '-j', chain]);
  }
  for (const dev of interfaces) {
    const argv = qdiscCommand(dev, faults);
    try {
      await inNamespace(netns, ['tc', ...argv]);
    } catch (e) {
      if (argv[1] === 'del') continue; // no root qdisc of ours to delete
      if (e instanceof CommandError && /qdisc kind is unknown/i.test(e.stderr)) {
        throw new NotImplementedError(`this kernel has no "${argv[5]}" queueing discipline (sch_${argv[5]}), which ${argv[5] === 'netem' ? 'a delay' : 'a rate limit'} needs`);
      }
      throw e;
    }
  }
}
