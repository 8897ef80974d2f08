// The commands' arguments and options, parsed by node:util's parseArgs; every refusal is a
// UsageError naming the option at fault.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { isMethodName, methodNames, type MethodName } from '../method-presets';
import { DeviceSchema } from '../run-config';
import { UsageError } from './exit';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/** The options of the commands that run configs into a folder (run, compare). */
export const folderRunOptions = {
  out: { type: 'string' },
  iterations: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
} as const satisfies Options;

/** A command's options (strict: an unknown one is refused) and its positional arguments. */
export function parseOptions<O extends Options>(command: string, args: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // node's own messages add advice about '--' that does not apply here: keep the first sentence.
    const first = (err as Error).message.split(/\.\s/)[0].replace(/\.$/, '');
    throw new UsageError(`${command}: ${first}`);
  }
}

export function onlyConfigArgument(command: string, positionals: string[]): string {
  if (positionals.length !== 1) {
    throw new UsageError(`${command}: expected one CONFIG.json argument; got ${positionals.length}`);
  }
  return positionals[0];
}

export function parseIterationsOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(text)) throw new UsageError(`--iterations: must be an integer >= 1; got ${JSON.stringify(text)}`);
  return Number(text);
}

export function parseDeviceOption(text: string | undefined): string | undefined {
  if (text !== undefined && !Value.Check(DeviceSchema, text)) {
    throw new UsageError(`--device: must be "cpu", "cuda" or "cuda:N"; got ${JSON.stringify(text)}`);
  }
  return text;
}

export function parseMethodsOption(text: string | undefined): MethodName[] {
  const known = methodNames.join(', ');
  if (text === undefined) throw new UsageError(`compare: --methods is required (known: ${known})`);
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new UsageError(`--methods: expected a comma-separated list (known: ${known})`);
  const seen = new Set<string>();
  for (const name of names) {
    if (!isMethodName(name)) throw new UsageError(`--methods: unknown method ${JSON.stringify(name)} (known: ${known})`);
    if (seen.has(name)) throw new UsageError(`--methods: ${JSON.stringify(name)} is given twice`);
    seen.add(name);
  }
  return names as MethodName[];
}
