/**
 * The classic builder as the engine's build service uses it: the Dockerfile
 * parser and checks, the context's unpacking and `.dockerignore`, remote
 * contexts and the step runner — some forty modules. engine/build.ts loads
 * this module on its first build rather than at berthd's start: most daemons
 * never build, and the modules' code is idle memory until one does.
 */
export { Builder } from './builder.js';
export { applyDockerignore, readDockerfile, readIgnoreFile, unpackContext } from './context.js';
export { parseDockerfile } from './parser/index.js';
export { checkSyntax } from './syntax.js';
export { checkPlatform } from './platform.js';
export { applyChecks } from './checks.js';
export { cloneGitContext, fetchRemoteContext, isGitUrl } from './remote.js';
