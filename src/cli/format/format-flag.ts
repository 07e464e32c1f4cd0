/**
 * The `--format` flag of list commands and its help text, shared so every
 * command explains it the same way Docker's `flagsHelper.FormatHelp` does.
 */
import type { FlagSpec } from '../flags.js';

const TABLE_HELP = `Format output using a custom template:
'table':            Print output in table format with column headers (default)
'table TEMPLATE':   Print output in table format using the given Go template
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`;

const INSPECT_HELP = `Format output using a custom template:
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`;

export function formatFlag(short?: string): FlagSpec {
  return { name: 'format', short, kind: 'string', usage: TABLE_HELP };
}

export function inspectFormatFlag(): FlagSpec {
  return { name: 'format', short: 'f', kind: 'string', usage: INSPECT_HELP };
}
