/** placeholder */
import type { Command } from './command.js';
export function rootCommand(): Command { return { name: 'berth', short: 'A self-sufficient runtime for containers', subcommands: [] }; }
