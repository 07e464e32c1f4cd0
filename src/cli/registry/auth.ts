/**
 * Which credentials travel with a pull or push: the `X-Registry-Auth` header
 * built from the entry for the image's registry in config.json (`e30=`, an
 * empty object, when there is none — exactly what Docker sends).
 */
import type { ConfigFile } from '../config-file.js';
import { encodeAuthHeader } from '../config-file.js';
import { parseReference } from '../../image/reference.js';

/** The registry host of an image reference (`docker.io` for Hub names). */
export function registryOf(image: string): string {
  try {
    return parseReference(image).domain;
  } catch {
    return 'docker.io';
  }
}

export function registryAuthHeader(config: ConfigFile, image: string): string {
  return encodeAuthHeader(config.authFor(registryOf(image)));
}
