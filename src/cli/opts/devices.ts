/**
 * Device flags: `--device` (parseDevice/validateDevice of the Docker CLI),
 * `--blkio-weight-device`, and the `--device-{read,write}-{bps,iops}`
 * throttles (opts.ValidateWeightDevice / ValidateThrottle*Device).
 */
import { ramInBytes } from './units.js';

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

function validDeviceMode(mode: string): boolean {
  if (mode === '' || mode.length > 3) return false;
  const seen = new Set<string>();
  for (const c of mode) {
    if (!'rwm'.includes(c) || seen.has(c)) return false;
    seen.add(c);
  }
  return true;
}

/** validateLinuxPath: absolute paths, optional valid mode. */
export function validateDevice(val: string): string {
  const parts = val.split(':');
  if (parts.length > 3) throw new Error(`bad format for path: ${val}`);
  if (!parts[0].startsWith('/')) throw new Error(`${parts[0]} is not an absolute path`);
  if (parts.length === 2 && !validDeviceMode(parts[1]) && !parts[1].startsWith('/')) throw new Error(`${parts[1]} is not an absolute path`);
  if (parts.length === 3) {
    if (!parts[1].startsWith('/')) throw new Error(`${parts[1]} is not an absolute path`);
    if (!validDeviceMode(parts[2])) throw new Error(`bad mode specified: ${parts[2]}`);
  }
  return val;
}

/** `/dev/sda[:/dev/xvda][:rwm]` → DeviceMapping (permissions default rwm). */
export function parseDevice(device: string): DeviceMapping {
  const arr = device.split(':');
  let src = '';
  let dst = '';
  let perms = 'rwm';
  if (arr.length > 3) throw new Error(`invalid device specification: ${device}`);
  if (arr.length === 3) perms = arr[2];
  if (arr.length >= 2) {
    if (validDeviceMode(arr[1])) perms = arr[1];
    else dst = arr[1];
  }
  src = arr[0];
  if (dst === '') dst = src;
  return { PathOnHost: src, PathInContainer: dst, CgroupPermissions: perms };
}

export interface WeightDevice {
  Path: string;
  Weight: number;
}

export interface ThrottleDevice {
  Path: string;
  Rate: number;
}

function splitDevice(val: string): [string, string] {
  const colon = val.indexOf(':');
  if (colon <= 0) throw new Error(`bad format: ${val}`);
  const path = val.slice(0, colon);
  if (!path.startsWith('/dev/')) throw new Error(`bad format for device path: ${val}`);
  return [path, val.slice(colon + 1)];
}

export function parseWeightDevice(val: string): WeightDevice {
  const [path, w] = splitDevice(val);
  const weight = Number(w);
  if (!/^\d+$/.test(w) || weight > 65535) throw new Error(`invalid weight for device: ${val}`);
  if (weight > 0 && (weight < 10 || weight > 1000)) throw new Error(`invalid weight for device: ${val}`);
  return { Path: path, Weight: weight };
}

export function parseThrottleBps(val: string): ThrottleDevice {
  const [path, r] = splitDevice(val);
  let rate: number;
  try {
    rate = ramInBytes(r);
  } catch {
    throw new Error(`invalid rate for device: ${val}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`);
  }
  return { Path: path, Rate: rate };
}

export function parseThrottleIops(val: string): ThrottleDevice {
  const [path, r] = splitDevice(val);
  if (!/^\d+$/.test(r)) throw new Error(`invalid rate for device: ${val}. The correct format is <device-path>:<number>. Number must be a positive integer`);
  return { Path: path, Rate: Number(r) };
}
