/** The Go text/template subset behind --format and inspect -f. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate, Template, TemplateError } from '../../../src/cli/format/template.js';

const inspect = {
  Id: 'abc123',
  Name: '/web',
  State: { Status: 'running', Running: true, ExitCode: 0, Health: null },
  Config: { Hostname: 'web1', Env: ['A=1', 'B=two'], Labels: { 'com.example.x': 'yes', tier: 'web' }, Cmd: ['sh', '-c', 'echo <hi> & bye'] },
  Mounts: [{ Source: '/a', Destination: '/x' }, { Source: '/b', Destination: '/y' }],
  NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] } },
  Count: 3,
};

test('fields and nested fields', () => {
  assert.equal(renderTemplate('{{.State.Status}}', inspect), 'running');
  assert.equal(renderTemplate('{{.Config.Hostname}} {{.Name}}', inspect), 'web1 /web');
  assert.equal(renderTemplate('{{.}}', 'plain'), 'plain');
});

test('Go-cased names find JSON keys (Docker evaluates Go structs first)', () => {
  assert.equal(renderTemplate('{{.ID}}', inspect), 'abc123');
  assert.equal(renderTemplate('{{.Id}}', inspect), 'abc123');
});

test('missing keys, nulls, maps and slices print like Go', () => {
  assert.equal(renderTemplate('{{.Nope}}', inspect), '<no value>');
  assert.equal(renderTemplate('{{.State.Health}}', inspect), '<nil>');
  assert.equal(renderTemplate('{{.Config.Env}}', inspect), '[A=1 B=two]');
  assert.equal(renderTemplate('{{.Config.Labels}}', inspect), 'map[com.example.x:yes tier:web]');
  assert.equal(renderTemplate('{{.State.Running}} {{.Count}}', inspect), 'true 3');
});

test('json, index, range, len, join, split and friends', () => {
  assert.equal(renderTemplate('{{json .Config.Env}}', inspect), '["A=1","B=two"]');
  assert.equal(renderTemplate('{{json .Config.Cmd}}', inspect), '["sh","-c","echo <hi> & bye"]');
  assert.equal(renderTemplate('{{index .Config.Labels "com.example.x"}}', inspect), 'yes');
  assert.equal(renderTemplate('{{index .Config.Labels "missing"}}', inspect), '');
  assert.equal(renderTemplate('{{index .Config.Env 1}}', inspect), 'B=two');
  assert.equal(renderTemplate('{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}', inspect), '/a:/x /b:/y ');
  assert.equal(renderTemplate('{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}};{{end}}', inspect), '0=/a;1=/b;');
  assert.equal(renderTemplate('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}', inspect), 'com.example.x=yes,tier=web,');
  assert.equal(renderTemplate('{{range $p, $conf := .NetworkSettings.Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}', inspect), '80/tcp -> 8080');
  assert.equal(renderTemplate('{{len .Mounts}}', inspect), '2');
  assert.equal(renderTemplate('{{join .Config.Env ","}}', inspect), 'A=1,B=two');
  assert.equal(renderTemplate('{{split "a:b:c" ":"}}', inspect), '[a b c]');
  assert.equal(renderTemplate('{{upper .State.Status}} {{lower "ABC"}} {{title "hello world"}}', inspect), 'RUNNING abc Hello World');
  assert.equal(renderTemplate('{{.Name | printf "%q"}}', inspect), '"/web"');
  assert.equal(renderTemplate('{{printf "%s-%d" .Config.Hostname .Count}}', inspect), 'web1-3');
  assert.equal(renderTemplate('{{truncate .Id 3}}|{{pad .Name 1 2}}|', inspect), 'abc| /web  |');
});

test('if/else if/else, with, comparisons, and/or/not', () => {
  assert.equal(renderTemplate('{{if .State.Running}}up{{else}}down{{end}}', inspect), 'up');
  assert.equal(renderTemplate('{{if eq .State.Status "exited"}}x{{else if eq .State.Status "running"}}r{{else}}?{{end}}', inspect), 'r');
  assert.equal(renderTemplate('{{with .Config}}{{.Hostname}}{{end}}', inspect), 'web1');
  assert.equal(renderTemplate('{{with .State.Health}}h{{else}}no health{{end}}', inspect), 'no health');
  assert.equal(renderTemplate('{{if and .State.Running (gt .Count 2)}}yes{{end}}', inspect), 'yes');
  assert.equal(renderTemplate('{{if or (not .State.Running) (lt .Count 1)}}no{{else}}fine{{end}}', inspect), 'fine');
  assert.equal(renderTemplate('{{if ne .Name "/db"}}not db{{end}}', inspect), 'not db');
});

test('variables, trimming, comments and break', () => {
  assert.equal(renderTemplate('{{$n := .Name}}{{- /* the name */ -}} [{{$n}}]', inspect), '[/web]');
  assert.equal(renderTemplate('a  {{- "b" -}}  c', {}), 'abc');
  assert.equal(renderTemplate('{{range .Config.Env}}{{if eq . "B=two"}}{{break}}{{end}}{{.}};{{end}}', inspect), 'A=1;');
  assert.equal(renderTemplate('{{$x := 1}}{{range .Mounts}}{{$x = 2}}{{end}}{{$x}}', inspect), '2');
});

test('methods on row contexts take arguments: {{.Label "x"}}', () => {
  const row = { ID: () => 'c1', Label: (n: unknown) => ({ app: 'demo' } as Record<string, string>)[String(n)] ?? '' };
  assert.equal(renderTemplate('{{.ID}} {{.Label "app"}}|{{.Label "none"}}|', row), 'c1 demo||');
});

test('errors read like Go template errors', () => {
  assert.throws(() => new Template('{{.A'), TemplateError);
  assert.throws(() => new Template('{{foo .A}}'), /function "foo" not defined/);
  assert.throws(() => new Template('{{if .A}}x'), /unexpected EOF/);
  assert.throws(() => renderTemplate('{{index .Config.Env 5}}', inspect), /index out of range: 5/);
});
