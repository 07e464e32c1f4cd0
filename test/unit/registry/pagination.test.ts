import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lexicalCompare, MAX_PAGE_SIZE, nextLinkHeader, paginate, parsePageRequest } from '../../../src/registry/server/pagination.js';
import { DistributionError } from '../../../src/registry/server/errors.js';

const tags = ['v2', 'latest', 'V1', 'v1', 'alpha', 'beta'];

test('without n the whole list comes back in lexical (case-insensitive) order', () => {
  assert.deepEqual(paginate(tags, {}).items, ['alpha', 'beta', 'latest', 'V1', 'v1', 'v2']);
  assert.equal(paginate(tags, {}).nextLast, undefined);
});

test('n limits the page and nextLast is the last item when more follow', () => {
  const p = paginate(tags, { n: 2 });
  assert.deepEqual(p.items, ['alpha', 'beta']);
  assert.equal(p.nextLast, 'beta');
});

test('last is exclusive and pages chain to the end with no nextLast on the last page', () => {
  const seen: string[] = [];
  let last: string | undefined;
  for (let i = 0; i < 10; i++) {
    const p = paginate(tags, { n: 4, last });
    seen.push(...p.items);
    if (p.nextLast === undefined) break;
    last = p.nextLast;
  }
  assert.deepEqual(seen, paginate(tags, {}).items);
});

test('a page that exactly empties the list has no next link', () => {
  assert.equal(paginate(['a', 'b'], { n: 2 }).nextLast, undefined);
});

test('n=0 gives an empty list and no link (spec end-8b)', () => {
  assert.deepEqual(paginate(tags, { n: 0 }), { items: [] });
});

test('last alone (without n) returns everything after it', () => {
  assert.deepEqual(paginate(tags, { last: 'latest' }).items, ['V1', 'v1', 'v2']);
  assert.deepEqual(paginate(tags, { last: 'zzz' }).items, []);
});

test('a last that is not in the list still pages from its position', () => {
  assert.deepEqual(paginate(tags, { last: 'b', n: 1 }).items, ['beta']);
});

test('n above the cap is served in capped pages with a link', () => {
  const many = Array.from({ length: MAX_PAGE_SIZE + 5 }, (_, i) => `t${String(i).padStart(6, '0')}`);
  const p = paginate(many, { n: MAX_PAGE_SIZE + 5 });
  assert.equal(p.items.length, MAX_PAGE_SIZE);
  assert.equal(p.nextLast, many[MAX_PAGE_SIZE - 1]);
});

test('lexicalCompare is a total order: case-insensitive first, then exact', () => {
  assert.ok(lexicalCompare('B', 'a') > 0);
  assert.ok(lexicalCompare('V1', 'v1') < 0);
  assert.equal(lexicalCompare('x', 'x'), 0);
});

test('parsePageRequest reads n and last and refuses bad numbers', () => {
  assert.deepEqual(parsePageRequest(new URLSearchParams('n=5&last=abc')), { n: 5, last: 'abc' });
  assert.deepEqual(parsePageRequest(new URLSearchParams('')), {});
  for (const bad of ['n=-1', 'n=abc', 'n=1.5']) {
    assert.throws(() => parsePageRequest(new URLSearchParams(bad)), (e: unknown) => e instanceof DistributionError && e.status === 400);
  }
});

test('the Link header is RFC 5988 rel="next" with the last value escaped', () => {
  assert.equal(nextLinkHeader('/v2/_catalog', 'probe/a', 1), '</v2/_catalog?last=probe%2Fa&n=1>; rel="next"');
  assert.equal(nextLinkHeader('/v2/x/tags/list', 'v1', undefined), `</v2/x/tags/list?last=v1&n=${MAX_PAGE_SIZE}>; rel="next"`);
});
