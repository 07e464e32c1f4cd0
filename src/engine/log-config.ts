/**
 * `HostConfig.LogConfig` at create: the driver and its options, checked as
 * dockerd checks them (moby `daemon/logs.go` `mergeAndVerifyLogConfig`,
 * `daemon/logger/factory.go` `ValidateLogOpts`, each driver's
 * `ValidateLogOpt`), with dockerd's words, as 400s. dockerd parses the
 * json-file values (`max-size`, `max-file`, `compress`) only when the
 * container starts, and fails that start with a 500; moby's own comment
 * there says config errors belong at create, so berth checks them here.
 *
 * berth's json-file (and `local`) driver is conmon's k8s-file log, rotated
 * by runtime/log-rotation.ts when `max-file` is above 1 (`local`: 20 MiB ×
 * 5 files unless told otherwise, as Docker's, but kept uncompressed). What Docker has
 * and berth does not (other drivers, compression, extra attributes,
 * non-blocking mode) is refused loudly (501).
 */
import { InvalidParameterError, NotImplementedError } from '../errors.js';

export const DEFAULT_LOG_DRIVER = 'json-file';

/** Drivers berth writes: conmon's file (json-file, local), or nothing. */
const BERTH_DRIVERS = new Set(['json-file', 'local', 'none']);

/** Drivers dockerd has built in (Linux) that berth does not have. */
const DOCKER_ONLY_DRIVERS = new Set(['syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'gcplogs', 'logentries']);

/** jsonfilelog.ValidateLogOpt's keys; the first five are the common attributes (logger.Info.ExtraAttributes). */
const JSON_FILE_OPTS = new Set(['env', 'env-regex', 'labels', 'labels-regex', 'tag', 'max-file', 'max-size', 'compress']);
/** local.LogOptKeys. */
const LOCAL_OPTS = new Set(['max-file', 'max-size', 'compress']);
/** Options every driver takes (logger `builtInLogOpts`). */
const BUILT_IN_OPTS = new Set(['mode', 'max-buffer-size']);

export interface LogRotation {
  /** Bytes per file. */
  maxSize: number;
  /** Files kept, the one being written included (≥ 2: with 1, conmon's own size limit truncates). */
  maxFiles: number;
}

/**
 * Checks a create request's LogConfig and returns it with dockerd's
 * default driver filled in (`Type: ""` is json-file, the options kept as given).
 */
export function checkLogConfig(cfg: LogConfigLike): { Type: string; Config: Record<string, string> } {
  const type = cfg?.Type || DEFAULT_LOG_DRIVER;
  const opts = { ...(cfg?.Config ?? {}) };
  if (type === 'none') return { Type: type, Config: opts }; // ValidateLogOpts: anything goes with none

  const mode = opts.mode ?? '';
  if (!['', 'blocking', 'non-blocking'].includes(mode)) throw new InvalidParameterError(`logger: logging mode not supported: ${mode}`);
  if ('max-buffer-size' in opts) {
    if (mode !== 'non-blocking') throw new InvalidParameterError("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    parseSize(opts['max-buffer-size'], 1024, 'error parsing option max-buffer-size: ');
  }
  if (!BERTH_DRIVERS.has(type)) {
    if (DOCKER_ONLY_DRIVERS.has(type)) throw new NotImplementedError(`logging driver "${type}" is not supported by berth (json-file, local and none are)`);
    // berth has no plugins: an unknown name is what dockerd says when no plugin has it.
    throw new InvalidParameterError(`logger: no log driver named '${type}' is registered`);
  }
  for (const key of Object.keys(opts)) {
    if (BUILT_IN_OPTS.has(key)) continue;
    if (type === 'json-file' && !JSON_FILE_OPTS.has(key)) throw new InvalidParameterError(`unknown log opt '${key}' for json-file log driver`);
    if (type === 'local' && !LOCAL_OPTS.has(key)) throw new InvalidParameterError(`unknown log opt '${key}' for log driver local`);
  }
  logRotation({ Type: type, Config: opts }); // the values (dockerd: at start)
  if (mode === 'non-blocking') throw new NotImplementedError('log mode non-blocking is not supported by berth: conmon writes every line');
  for (const key of ['env', 'env-regex', 'labels', 'labels-regex', 'tag']) {
    if (key in opts) throw new NotImplementedError(`log option "${key}" is not supported by berth (max-size, max-file and compress=false are)`);
  }
  return { Type: type, Config: opts };
}

/**
 * The rotation a log config asks for, or undefined when the file is not
 * rotated into several (no max-size, or a single file). Throws dockerd's
 * errors for bad values (jsonfilelog.New, local.newConfig).
 */
export function logRotation(cfg: LogConfigLike): LogRotation | undefined {
  const limits = logLimits(cfg);
  if (!limits || limits.maxSize <= 0 || limits.maxFiles < 2) return undefined;
  return limits;
}

/**
 * The size one log file may grow to (conmon's `--log-size-max`), counted as
 * Docker counts `max-size` (units.FromHumanSize: 1000s, `1.5m`, `10 m`);
 * undefined when the file grows without limit. create's check
 * (checkLogConfig), start and the rotation all read the options here.
 */
export function logFileMaxSize(cfg: LogConfigLike): number | undefined {
  const limits = logLimits(cfg);
  return limits && limits.maxSize > 0 ? limits.maxSize : undefined;
}

type LogConfigLike = { Type?: string; Config?: Record<string, string> | null } | null | undefined;

/**
 * The local driver's defaults (moby daemon/logger/local): 20 MiB × 5 files,
 * compressed. berth rotates as asked but keeps rotated files uncompressed
 * (compress=true given explicitly is refused).
 */
const LOCAL_MAX_SIZE = 20 * 1024 * 1024;
const LOCAL_MAX_FILES = 5;

/** max-size (bytes, -1 when none) and max-file of a file driver's options, checked; undefined for other drivers. */
function logLimits(cfg: LogConfigLike): LogRotation | undefined {
  const type = cfg?.Type || DEFAULT_LOG_DRIVER;
  const opts = cfg?.Config ?? {};
  if (type !== 'json-file' && type !== 'local') return undefined;
  let maxSize = type === 'local' ? LOCAL_MAX_SIZE : -1;
  if ('max-size' in opts) {
    maxSize = type === 'local'
      ? parseSize(opts['max-size'], 1000, `invalid value for max-size: ${opts['max-size']}: `)
      : parseSize(opts['max-size'], 1000, '');
    if (type === 'json-file' && maxSize <= 0) throw new InvalidParameterError('max-size must be a positive number');
  }
  let maxFiles = type === 'local' ? LOCAL_MAX_FILES : 1;
  if ('max-file' in opts) {
    maxFiles = atoi(opts['max-file'], type === 'local' ? `invalid value for max-file: ${opts['max-file']}: ` : '');
    if (type === 'json-file' && maxFiles < 1) throw new InvalidParameterError('max-file cannot be less than 1');
    if (type === 'local' && maxFiles < 0) throw new InvalidParameterError('max-file must not be negative');
  }
  // local compresses by default; json-file does not.
  let compress = type === 'local';
  if ('compress' in opts) {
    compress = parseBool(opts.compress, type === 'local' ? 'invalid boolean value for compress: ' : '');
    if (type === 'json-file' && compress && (maxFiles === 1 || maxSize === -1)) {
      throw new InvalidParameterError('compress cannot be true when max-file is less than 2 or max-size is not set');
    }
    if (compress) throw new NotImplementedError('compress=true is not supported by berth: rotated logs are kept as they are written');
  }
  if (type === 'local' && compress && maxFiles <= 1) throw new InvalidParameterError('compression cannot be enabled when max file count is 1');
  return { maxSize, maxFiles };
}

/** Go's strconv.Atoi, with its error text. */
function atoi(s: string, prefix: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new InvalidParameterError(`${prefix}strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new InvalidParameterError(`${prefix}strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

/** Go's strconv.ParseBool, with its error text. */
function parseBool(s: string, prefix: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new InvalidParameterError(`${prefix}strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}

/**
 * go-units' parseSize: a number, an optional space, then an optional unit:
 * `b`, or k, m, g, t, p followed by nothing, `b` or `ib` (any case).
 * `FromHumanSize` (max-size) counts in 1000s, `RAMInBytes`
 * (max-buffer-size) in 1024s; either way `ib` does not change the base.
 */
export function parseSize(s: string, base: 1000 | 1024, prefix: string): number {
  const m = /^([0-9.]*[0-9.])( ?)([^0-9. ]*)$/.exec(s);
  if (!m) throw new InvalidParameterError(`${prefix}invalid size: '${s}'`);
  const size = Number(m[1]);
  if (!/^(\d+\.?\d*|\.\d+)$/.test(m[1]) || Number.isNaN(size)) {
    throw new InvalidParameterError(`${prefix}strconv.ParseFloat: parsing ${JSON.stringify(m[1])}: invalid syntax`);
  }
  const sfx = m[3].toLowerCase();
  const plain = sfx === '' || sfx === 'b';
  const power = plain ? 0 : 'kmgtp'.indexOf(sfx[0]) + 1;
  if (!plain && (power === 0 || sfx.length > 3 || (sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib'))) {
    throw new InvalidParameterError(`${prefix}invalid suffix: '${sfx}'`);
  }
  const bytes = Math.trunc(size * base ** power);
  // Past 2^53 the number is not a byte count any more (99…9p is Infinity), nor something conmon can take.
  if (!Number.isSafeInteger(bytes)) throw new InvalidParameterError(`${prefix}invalid size: '${s}': value out of range`);
  return bytes;
}

/**
 * Refuses to read back the logs of a container whose driver keeps none
 * (`none`): logs and attach with `logs=1` both ask here. dockerd's
 * ErrReadLogsNotSupported is a NotImplemented (501).
 */
export function checkLogsReadable(cfg: LogConfigLike): void {
  if (cfg?.Type === 'none') throw new NotImplementedError('configured logging driver does not support reading');
}
