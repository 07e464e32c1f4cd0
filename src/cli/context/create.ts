/**
 * `berth context create NAME --docker host=…,ca=…,cert=…,key=…,skip-tls-verify=…`:
 * a new context in the shared store. The PEM files are copied into the
 * store (0600 in a 0700 directory), as the Docker CLI does; without
 * `--docker` (or with `--from`) the context is copied from another (the
 * current one): its endpoint, TLS files and description (unless given).
 */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { currentName, defaultContext, storeOf } from './current.js';
import { endpointFromFlag, endpointOfContext, parseDockerEndpointFlag, type DockerEndpoint } from './docker-endpoint.js';
import { DEFAULT_CONTEXT, validateContextName, type ContextMeta } from './store.js';

/** The help's table of `--docker`'s keys (create and update). */
export const DOCKER_ENDPOINT_HELP = 'Docker endpoint config:\n\nNAME                DESCRIPTION\nfrom                Copy named context\'s Docker endpoint configuration\nhost                Docker endpoint on which to connect\nca                  Trust certs signed only by this CA\ncert                Path to TLS certificate file\nkey                 Path to TLS key file\nskip-tls-verify     Skip TLS certificate validation';

export const contextCreateCommand: Command = {
  name: 'create', usage: '[OPTIONS] CONTEXT', short: 'Create a context', args: { min: 1, max: 1 },
  long: `Create a context\n\n${DOCKER_ENDPOINT_HELP}`,
  flags: [
    { name: 'description', kind: 'string', usage: 'Description of the context' },
    { name: 'docker', kind: 'string', usage: 'set the docker endpoint' },
    { name: 'from', kind: 'string', usage: 'create context from a named context' },
  ],
  async run(ctx, f) {
    const name = f.args[0];
    validateContextName(name);
    const store = storeOf(ctx);
    if (store.exists(name)) throw new StatusError(1, `context "${name}" already exists`);
    const ep = parseDockerEndpointFlag(f.string('docker'));
    const from = f.string('from');
    if (from && f.changed('docker')) throw new StatusError(1, 'cannot use --docker flag when --from is set');
    let endpoint: DockerEndpoint;
    let metadata: ContextMeta['Metadata'] = {};
    if (f.changed('docker')) endpoint = endpointFromFlag(ctx, store, ep);
    else {
      // --from, or neither flag: a copy of that context (the current one), description included, as Docker makes it.
      const source = from || currentName(ctx);
      metadata = { ...(source === DEFAULT_CONTEXT ? defaultContext(ctx) : store.get(source)).Metadata };
      endpoint = endpointOfContext(ctx, store, source);
    }
    const meta: ContextMeta = { Name: name, Metadata: metadata, Endpoints: { docker: endpoint.meta } };
    const description = f.string('description');
    if (description) meta.Metadata.Description = description;
    store.save(meta, endpoint.tls);
    ctx.out.write(`${name}\n`);
    ctx.err.write(`Successfully created context "${name}"\n`);
  },
};
