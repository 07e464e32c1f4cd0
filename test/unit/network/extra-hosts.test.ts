import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExtraHost, parseExtraHost } from '../../../src/network/extra-hosts.js';

test('an add-host entry splits at its first colon, so IPv6 addresses keep theirs', () => {
  assert.deepEqual(parseExtraHost('db:10.0.0.2'), { name: 'db', ip: '10.0.0.2' });
  assert.deepEqual(checkExtraHost('db:::1'), { name: 'db', ip: '::1' });
  assert.deepEqual(checkExtraHost('db:[fd00::2]'), { name: 'db', ip: 'fd00::2' });
  assert.deepEqual(checkExtraHost('gw:host-gateway'), { name: 'gw', ip: 'host-gateway' });
});

test('what the check passes is what the /etc/hosts line is written from', () => {
  // Split at the last colon, `a:b:1.2.3.4` passed the check and was written as `b:1.2.3.4  a`.
  assert.throws(() => checkExtraHost('a:b:1.2.3.4'), /invalid IP address in add-host: "b:1.2.3.4"/);
  for (const bad of ['nohost', ':1.2.3.4', 'two words:1.2.3.4', 'x\ny:1.2.3.4', 'db:999.1.1.1', 'db:']) {
    assert.throws(() => checkExtraHost(bad), /invalid IP address in add-host/, bad);
  }
});
