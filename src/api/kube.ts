/**
 * berth's kube YAML endpoints (Podman has them under /libpod/kube; Docker
 * has none; kube/play.ts and kube/generate.ts do the work):
 *
 *   POST /kube/play?network=NET   body: the YAML text → 201 {Pods: [{Name, Id, Containers}], Warnings}
 *   POST /kube/down               body: the YAML text → 200 {Pods: [names removed], Warnings}
 *   GET  /kube/generate?name=X…   → 200 application/yaml, one Pod per name
 */
import type { Engine } from '../engine/engine.js';
import { InvalidParameterError } from '../errors.js';
import type { KubeGenerator } from '../kube/generate.js';
import type { KubeService } from '../kube/play.js';
import { COMMON_HEADERS, need, sendJson } from './context.js';
import { readBodyText } from './json-body.js';
import type { Router } from './router.js';

/**
 * The kube modules and the `yaml` package they parse and write with are
 * loaded by the first kube request, not when berthd starts: most daemons never
 * get one, and they are ~2 MiB of an idle berthd's heap (bench/RESULTS.md, round 4).
 */
export function registerKubeRoutes(r: Router, engine: Engine): void {
  let kubeService: Promise<KubeService> | undefined;
  let kubeGenerator: Promise<KubeGenerator> | undefined;
  const service = () => (kubeService ??= import('../kube/play.js').then((m) => new m.KubeService(engine)));
  const generator = () => (kubeGenerator ??= import('../kube/generate.js').then((m) => new m.KubeGenerator(engine)));

  r.post('/kube/play', async (ctx) => {
    const text = await readBodyText(ctx.req);
    if (!text.trim()) throw new InvalidParameterError('kube play needs a YAML body');
    sendJson(need(ctx), 201, await (await service()).play(text, { network: ctx.query.get('network') ?? undefined }));
  });

  r.post('/kube/down', async (ctx) => {
    const text = await readBodyText(ctx.req);
    if (!text.trim()) throw new InvalidParameterError('kube down needs a YAML body');
    sendJson(need(ctx), 200, await (await service()).down(text));
  });

  r.get('/kube/generate', async (ctx) => {
    const yaml = (await generator()).generate(ctx.query.getAll('name'));
    const res = need(ctx);
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/yaml', 'Content-Length': String(Buffer.byteLength(yaml)) });
    res.end(yaml);
  });
}
