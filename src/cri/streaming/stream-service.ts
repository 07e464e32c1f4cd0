/**
 * The Exec, Attach and PortForward RPCs: each checks its request as
 * kubelet's streaming server does (a container or pod that exists and
 * runs, at least one stream, no stderr beside a tty) and answers with a
 * one-time URL of the streaming server, where the work happens.
 */
import { ConflictError, InvalidParameterError } from '../../errors.js';
import type { Pods } from '../pods.js';
import { idArg, stringList } from '../validate.js';
import type { StreamingServer } from './server.js';

type Req = Record<string, any>;

function streamsArg(req: Req): { tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean } {
  const o = { tty: !!req.tty, stdin: !!req.stdin, stdout: !!req.stdout, stderr: !!req.stderr };
  if (o.tty && o.stderr) throw new InvalidParameterError('tty and stderr cannot both be true');
  if (!o.stdin && !o.stdout && !o.stderr) throw new InvalidParameterError('one of stdin, stdout, or stderr must be set');
  return o;
}

export class StreamService {
  constructor(private readonly pods: Pods, private readonly server: StreamingServer) {}

  exec(req: Req): Req {
    const c = this.pods.container(idArg(req.containerId, 'container'));
    const cmd = stringList(req.cmd, 'cmd');
    if (cmd.length === 0) throw new InvalidParameterError('cmd must not be empty');
    const streams = streamsArg(req);
    if (!c.rec.State.Running) throw new ConflictError(`container ${c.rec.Id} is not running`);
    return { url: this.server.register({ kind: 'exec', spec: { containerId: c.rec.Id, cmd, ...streams } }) };
  }

  attach(req: Req): Req {
    const c = this.pods.container(idArg(req.containerId, 'container'));
    const streams = streamsArg(req);
    if (!c.rec.State.Running) throw new ConflictError(`container ${c.rec.Id} is not running`);
    return { url: this.server.register({ kind: 'attach', spec: { containerId: c.rec.Id, ...streams } }) };
  }

  portForward(req: Req): Req {
    const sb = this.pods.sandbox(idArg(req.podSandboxId, 'pod sandbox'));
    if (!sb.rec.State.Running) throw new ConflictError(`pod sandbox ${sb.rec.Id} is not running`);
    const ports = (Array.isArray(req.port) ? req.port : []).map((p: unknown) => {
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw new InvalidParameterError(`invalid port ${String(p)}`);
      return p;
    });
    const id = sb.rec.Id;
    const hostNetwork = sb.info.namespaces.network === 'NODE';
    const pods = this.pods;
    return {
      url: this.server.register({
        kind: 'portforward',
        target: {
          podId: id, ports,
          // Looked up per connection: the infra process is the pod's network namespace while it runs.
          netnsPath() {
            if (hostNetwork) return '';
            const cur = pods.sandbox(id).rec;
            if (!cur.State.Running || !(cur.State.Pid > 0)) throw new ConflictError(`pod sandbox ${id} is not running`);
            return `/proc/${cur.State.Pid}/ns/net`;
          },
        },
      }),
    };
  }
}
