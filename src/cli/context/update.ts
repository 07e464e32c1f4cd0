/**
 * `berth context update NAME [--description TEXT] [--docker host=…,ca=…,…]`:
 * changes what its flags name and nothing else. `--description` replaces
 * the description (an empty one leaves it, as Docker does); `--docker`
 * replaces the docker endpoint and its TLS material with what its keys
 * describe, as Docker's does (an endpoint updated with `host=` alone has no
 * TLS files any more). Without `--docker` the endpoint and its files stay.
 */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { storeOf } from './current.js';
import { DOCKER_ENDPOINT_HELP } from './create.js';
import { endpointFromFlag, parseDockerEndpointFlag } from './docker-endpoint.js';
import { validateContextName, type TlsMaterial } from './store.js';

export const contextUpdateCommand: Command = {
  name: 'update', usage: '[OPTIONS] CONTEXT', short: 'Update a context', args: { min: 1, max: 1 },
  long: `Update a context\n\n${DOCKER_ENDPOINT_HELP}\n\nExample:\n\n$ berth context update my-context --description "some description" --docker "host=tcp://myserver:2376,ca=~/ca-file,cert=~/cert-file,key=~/key-file"`,
  flags: [
    { name: 'description', kind: 'string', usage: 'Description of the context' },
    { name: 'docker', kind: 'string', usage: 'set the docker endpoint' },
  ],
  async run(ctx, f) {
    const name = f.args[0];
    validateContextName(name);
    const store = storeOf(ctx);
    const meta = store.get(name);
    const description = f.string('description');
    if (description) meta.Metadata.Description = description;
    let tls: TlsMaterial | undefined;
    if (f.changed('docker')) {
      const value = f.string('docker');
      if (!value.trim()) throw new StatusError(1, 'invalid argument "" for "--docker" flag: must be formatted as key=value');
      const endpoint = endpointFromFlag(ctx, store, parseDockerEndpointFlag(value));
      meta.Endpoints.docker = endpoint.meta;
      tls = endpoint.tls;
    }
    store.save(meta, tls);
    ctx.out.write(`${name}\n`);
    ctx.err.write(`Successfully updated context "${name}"\n`);
  },
};
