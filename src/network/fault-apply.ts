/**
 * Puts a container's fault plan (fault-plan.ts) in place: iptables-restore
 * for the two fault chains in its namespace (one transaction) and a jump to
 * each from INPUT and OUTPUT, the root qdisc of each of its interfaces, and
 * on each host end of its veths the wire drops (one `tc -batch`) and the
 * root qdisc. Commands inside the namespace run through nsenter(1); the
 * host ends are in berthd's own namespace. The delay line is the caller's
 * (it outlives this call).
 */
import { CommandError, NotImplementedError } from '../errors.js';
import { runCommand } from '../run-command.js';
import { CHAIN_IN, CHAIN_OUT, type FaultPlan } from './fault-plan.js';
import { wireBatch } from './fault-wire.js';

function inNamespace(netns: string, argv: string[], input?: string): Promise<string> {
  return runCommand(['nsenter', `--net=${netns}`, ...argv], input === undefined ? {} : { input });
}

async function qdisc(argv: string[], netns?: string): Promise<void> {
  try {
    await (netns ? inNamespace(netns, ['tc', ...argv]) : runCommand(['tc', ...argv]));
  } catch (e) {
    if (argv[1] === 'del') return; // no root qdisc of ours to delete
    if (e instanceof CommandError && /qdisc kind is unknown/i.test(e.stderr)) {
      throw new NotImplementedError(`this kernel has no "${argv[5]}" queueing discipline (sch_${argv[5]}), which ${argv[5] === 'netem' ? 'a delay' : 'a rate limit'} needs`);
    }
    throw e;
  }
}

/** Makes the namespace `netns`, its `interfaces` and their host ends `hostEnds` hold exactly `plan`. */
export async function applyPlan(netns: string, interfaces: readonly string[], hostEnds: readonly string[], plan: FaultPlan): Promise<void> {
  await inNamespace(netns, ['iptables-restore', '-w', '--noflush'], plan.iptables);
  for (const [chain, from] of [[CHAIN_IN, 'INPUT'], [CHAIN_OUT, 'OUTPUT']]) {
    const present = await inNamespace(netns, ['iptables', '-w', '-C', from, '-j', chain]).then(() => true, () => false);
    if (!present) await inNamespace(netns, ['iptables', '-w', '-I', from, '1', '-j', chain]);
  }
  for (const dev of interfaces) await qdisc(plan.containerQdisc(dev), netns);
  for (const dev of hostEnds) {
    await runCommand(['tc', 'qdisc', 'del', 'dev', dev, 'clsact']).catch(() => undefined); // none yet
    const batch = wireBatch(dev, plan.wire.ingress, plan.wire.egress);
    if (batch.length) await runCommand(['tc', '-batch', '-'], { input: `${batch.join('\n')}\n` });
    await qdisc(plan.hostQdisc(dev));
  }
}

let netemKnown: boolean | undefined;

/** Whether the kernel has sch_netem: tried once on the loopback of a container's namespace (nothing there to disturb). */
export async function kernelHasNetem(netns: string): Promise<boolean> {
  if (netemKnown !== undefined) return netemKnown;
  try {
    await inNamespace(netns, ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
    await inNamespace(netns, ['tc', 'qdisc', 'del', 'dev', 'lo', 'root']).catch(() => undefined);
    netemKnown = true;
  } catch (e) {
    if (!(e instanceof CommandError && /qdisc kind is unknown|Unknown qdisc/i.test(e.stderr))) throw e;
    netemKnown = false;
  }
  return netemKnown;
}
