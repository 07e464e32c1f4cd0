/**
 * Build args (`--build-arg`, `buildargs=` on `POST /build`) and their scope,
 * with the classic builder's rules (moby `builder/dockerfile/buildargs.go`):
 *
 * - a stage sees an arg only after an `ARG name[=default]` in that stage; its
 *   value is the `--build-arg` value, else the default, else — for an ARG
 *   without default — the value of a meta ARG (before the first FROM) of the
 *   same name, or an automatic platform arg (TARGETARCH…);
 * - the predefined args (HTTP_PROXY, https_proxy, NO_PROXY, ALL_PROXY… and
 *   SOURCE_DATE_EPOCH) need no ARG: given with --build-arg they reach RUN's
 *   environment, but they stay out of the cache key and of the image history
 *   unless the stage declares them;
 * - a RUN sees the args in scope that ENV does not override, and they are in
 *   its cache key and its history (`|2 A=1 B=2 /bin/sh -c …`);
 * - a --build-arg that no ARG of the built stages declared earns the
 *   warning `[Warning] One or more build-args [X] were not consumed`.
 */
import { hostArchitecture } from '../image/config.js';

export const PROXY_ARGS: readonly string[] = [
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy',
  'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
];

/** Args a build may pass without any ARG declaring them. */
export const PREDEFINED_ARGS: ReadonlySet<string> = new Set([...PROXY_ARGS, 'SOURCE_DATE_EPOCH']);

/** BuildKit's automatic platform args (the values FROM lines and `ARG TARGETARCH` see). */
export function platformArgs(): Map<string, string> {
  const arch = hostArchitecture();
  const platform = `linux/${arch}`;
  return new Map([
    ['TARGETPLATFORM', platform], ['TARGETOS', 'linux'], ['TARGETARCH', arch], ['TARGETVARIANT', ''],
    ['BUILDPLATFORM', platform], ['BUILDOS', 'linux'], ['BUILDARCH', arch], ['BUILDVARIANT', ''],
  ]);
}

/** The build-wide view: what was given, what the meta ARGs resolved to, what was used. */
export class BuildArgs {
  private readonly consumed = new Set<string>();

  /**
   * @param given `--build-arg` values (an arg given without value is absent)
   * @param meta meta ARG values (`metaArgEnv`), seen by `ARG name` without default
   */
  constructor(readonly given: ReadonlyMap<string, string>, private readonly meta: ReadonlyMap<string, string>) {}

  /** Marks names as declared somewhere (meta ARGs, stage ARGs). */
  consume(name: string): void { this.consumed.add(name); }

  /** Given args no ARG declared (predefined ones never count), sorted. */
  unconsumed(): string[] {
    return [...this.given.keys()].filter((k) => !this.consumed.has(k) && !PREDEFINED_ARGS.has(k)).sort();
  }

  stage(): StageArgs { return new StageArgs(this, this.meta); }
}

/** The args in scope in one stage. */
export class StageArgs {
  /** Declared in this stage: name → value (undefined: declared without any value). */
  private readonly declared = new Map<string, string | undefined>();

  constructor(private readonly build: BuildArgs, private readonly meta: ReadonlyMap<string, string>) {}

  /** `ARG name[=default]` (default already substituted). */
  declare(name: string, defaultValue: string | undefined): void {
    this.build.consume(name);
    const given = this.build.given.get(name);
    let value = given ?? defaultValue;
    if (value === undefined) value = this.meta.get(name) ?? platformArgs().get(name);
    this.declared.set(name, value);
  }

  isDeclared(name: string): boolean { return this.declared.has(name); }

  /** Every arg with a value this stage may use: declared ones and predefined ones that were given (GetAllAllowed). */
  allowed(): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of PREDEFINED_ARGS) {
      const v = this.build.given.get(name);
      if (v !== undefined && !this.declared.has(name)) out.set(name, v);
    }
    for (const [name, v] of this.declared) if (v !== undefined) out.set(name, v);
    return out;
  }

  /** Variables for substitution in this stage: the args, overridden by the image's ENV. */
  substitutionEnv(env: readonly string[]): Map<string, string> {
    const out = this.allowed();
    for (const e of env) {
      const i = e.indexOf('=');
      if (i > 0) out.set(e.slice(0, i), e.slice(i + 1));
    }
    return out;
  }

  /** `KEY=VALUE` of the args a RUN gets on top of `env` (those ENV does not set), sorted (FilterAllowed). */
  runEnv(env: readonly string[]): string[] {
    const set = new Set(env.map((e) => e.split('=')[0]));
    return [...this.allowed()].filter(([k]) => !set.has(k)).map(([k, v]) => `${k}=${v}`).sort();
  }

  /** The part of `runEnv` that goes into the cache key and history: predefined args only when declared. */
  keyed(env: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.runEnv(env)) {
      const i = e.indexOf('=');
      const k = e.slice(0, i);
      if (!PREDEFINED_ARGS.has(k) || this.declared.has(k)) out[k] = e.slice(i + 1);
    }
    return out;
  }

  /** Of `names` (variables a substitution looked up), those that came from build args and not from ENV. */
  argsUsed(names: Iterable<string>, env: readonly string[]): Record<string, string> {
    const fromEnv = new Set(env.map((e) => e.split('=')[0]));
    const allowed = this.allowed();
    const out: Record<string, string> = {};
    for (const n of [...names].sort()) {
      const v = allowed.get(n);
      if (v !== undefined && !fromEnv.has(n)) out[n] = v;
    }
    return out;
  }
}
