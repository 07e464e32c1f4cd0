/**
 * Container names: validation with Docker's rule and generated names in
 * Docker's `adjective_surname` style for containers created without --name.
 */
import { randomInt } from 'node:crypto';
import { InvalidParameterError } from '../errors.js';

const validName = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Strips the leading "/" and checks Docker's name grammar. */
export function normalizeName(name: string): string {
  if (!validName.test(name)) throw new InvalidParameterError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name.slice(1) : name;
}

const adjectives = ['admiring', 'bold', 'brave', 'calm', 'clever', 'eager', 'elastic', 'festive', 'focused', 'gallant',
  'happy', 'hopeful', 'jolly', 'keen', 'loving', 'modest', 'nifty', 'peaceful', 'quirky', 'relaxed', 'serene',
  'sharp', 'stoic', 'tender', 'upbeat', 'vibrant', 'wizardly', 'youthful', 'zealous', 'zen'];
const surnames = ['archimedes', 'babbage', 'banach', 'bohr', 'curie', 'darwin', 'dijkstra', 'einstein', 'euler',
  'faraday', 'fermat', 'gauss', 'goodall', 'hopper', 'hypatia', 'kepler', 'knuth', 'lamarr', 'lovelace', 'mcclintock',
  'meitner', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson', 'torvalds', 'turing', 'wozniak', 'yalow'];

export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; i < 10; i++) {
    const n = `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}`;
    if (!taken(n)) return n;
  }
  for (;;) {
    const n = `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}${randomInt(100)}`;
    if (!taken(n)) return n;
  }
}
