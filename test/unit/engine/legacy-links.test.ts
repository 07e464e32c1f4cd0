/**
 * The pure parts of legacy links: dockerd's ParseLink, the environment of
 * links.Link.ToEnv (port order and ranges), registration's refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { legacyLinks, linkEnv, linkHostNames, parseLink, registerLinks, splitLinkName } from '../../../src/engine/legacy-links.js';

test('parseLink: name:alias, a bare name, inspect\'s /child:/parent/alias, and refusals', () => {
  assert.deepEqual(parseLink('db:data'), { name: 'db', alias: 'data' });
  assert.deepEqual(parseLink('db'), { name: 'db', alias: 'db' });
  assert.deepEqual(parseLink('/db:/app/data'), { name: 'db', alias: 'data' });
  assert.throws(() => parseLink('a:b:c'), /^InvalidParameterError: bad format for links: a:b:c$/);
  assert.throws(() => parseLink(''), /empty string specified for links/);
  assert.throws(() => parseLink(7), /bad format for links: 7/);
});

test('linkEnv: tcp ports first by number, ranges of consecutive ports, the child\'s env but PATH and HOME', () => {
  const env = linkEnv('/app/my-db', '10.0.0.2', ['PATH=/bin', 'HOME=/root', 'FOO=a=b', 'BARE'], {
    '53/udp': {}, '8001/tcp': {}, '8000/tcp': {}, '5432/tcp': {}, '8002/tcp': {},
  });
  assert.deepEqual(env, [
    'MY_DB_PORT=tcp://10.0.0.2:5432',
    'MY_DB_PORT_5432_TCP=tcp://10.0.0.2:5432', 'MY_DB_PORT_5432_TCP_ADDR=10.0.0.2', 'MY_DB_PORT_5432_TCP_PORT=5432', 'MY_DB_PORT_5432_TCP_PROTO=tcp',
    'MY_DB_PORT_8000_TCP=tcp://10.0.0.2:8000', 'MY_DB_PORT_8000_TCP_ADDR=10.0.0.2', 'MY_DB_PORT_8000_TCP_PORT=8000', 'MY_DB_PORT_8000_TCP_PROTO=tcp',
    'MY_DB_PORT_8001_TCP=tcp://10.0.0.2:8001', 'MY_DB_PORT_8001_TCP_ADDR=10.0.0.2', 'MY_DB_PORT_8001_TCP_PORT=8001', 'MY_DB_PORT_8001_TCP_PROTO=tcp',
    'MY_DB_PORT_8002_TCP=tcp://10.0.0.2:8002', 'MY_DB_PORT_8002_TCP_ADDR=10.0.0.2', 'MY_DB_PORT_8002_TCP_PORT=8002', 'MY_DB_PORT_8002_TCP_PROTO=tcp',
    // A range is told once it ends: after the first port past it, as in links.go.
    'MY_DB_PORT_53_UDP=udp://10.0.0.2:53', 'MY_DB_PORT_53_UDP_ADDR=10.0.0.2', 'MY_DB_PORT_53_UDP_PORT=53', 'MY_DB_PORT_53_UDP_PROTO=udp',
    'MY_DB_PORT_8000_TCP_START=tcp://10.0.0.2:8000', 'MY_DB_PORT_8000_TCP_PORT_START=8000',
    'MY_DB_PORT_8000_TCP_END=tcp://10.0.0.2:8002', 'MY_DB_PORT_8000_TCP_PORT_END=8002',
    'MY_DB_NAME=/app/my-db',
    'MY_DB_ENV_FOO=a=b',
  ]);
  assert.deepEqual(linkEnv('/app/x', '', [], null), ['X_NAME=/app/x']);
});

test('hosts names: the alias, the hostname, the name unless it is the alias', () => {
  assert.equal(linkHostNames('db', 'abc123', 'pg'), 'db abc123 pg');
  assert.equal(linkHostNames('pg', 'abc123', 'pg'), 'pg abc123');
});

test('registerLinks: recorded as inspect shows them; a missing child is the client\'s error; network modes', () => {
  const records: Record<string, { Id: string; Name: string; HostConfig: Record<string, any> }> = {
    db: { Id: 'd1', Name: 'db', HostConfig: { NetworkMode: 'bridge' } },
    side: { Id: 's1', Name: 'side', HostConfig: { NetworkMode: 'container:db' } },
    hosty: { Id: 'h1', Name: 'hosty', HostConfig: { NetworkMode: 'host' } },
  };
  const lookup = (n: string) => {
    const r = records[n] ?? Object.values(records).find((x) => x.Id === n);
    if (!r) throw new Error(`No such container: ${n}`);
    return r;
  };
  assert.deepEqual(registerLinks('app', { Links: ['db:data', 'db:data', 'side:s'] }, lookup), ['/db:/app/data', '/db:/app/s']);
  assert.equal(registerLinks('app', { Links: [] }, lookup), null);
  assert.throws(() => registerLinks('app', { Links: ['nope:x'] }, lookup), /^InvalidParameterError: could not get container for nope: No such container: nope$/);
  assert.throws(() => registerLinks('app', { Links: ['hosty:x'] }, lookup), /host type networking can't be used with links/);
  assert.throws(() => registerLinks('app', { NetworkMode: 'container:db', Links: ['db:x'] }, lookup), /container type network can't be used with links/);
  assert.deepEqual(legacyLinks('app', { NetworkMode: 'bridge', Links: ['/db:/app/data'] }), [{ child: 'db', alias: 'data', name: '/app/data' }]);
  assert.deepEqual(legacyLinks('app', { NetworkMode: 'proj_default', Links: ['db:data'] }), []);
});

test('splitLinkName: a parent and an alias; a container\'s own name is no link', () => {
  assert.deepEqual(splitLinkName('app/data'), { parent: 'app', alias: 'data' });
  assert.deepEqual(splitLinkName('/app/data'), { parent: 'app', alias: 'data' });
  assert.throws(() => splitLinkName('app'), /^ConflictError: Conflict, cannot remove the default link name of the container$/);
});
