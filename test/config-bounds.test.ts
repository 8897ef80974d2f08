// Unbounded sizes: every integer a run config holds (sizes, counts, seeds) states its upper bound
// in the schema, and a value past it is refused by validation, before anything is allocated.
// Generated from the shipped JSON Schema, so a field added later without a bound fails here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateRunConfig } from '../lib/run-config';

const schema: unknown = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'schema', 'bilevel-run.schema.json'), 'utf8'));

interface IntegerField {
  /**
   * Keys from the config's root to the field; a union member is chosen by its `type` or `name`,
   * and the object's other required integers are filled with their minimum.
   */
  path: { key: string; select?: Record<string, string | number> }[];
  minimum: number;
  maximum?: number;
}

type Node = Record<string, unknown>;

/** The path with its last key narrowed to the object `node` describes: its constants and required integers. */
function narrowedBy(path: IntegerField['path'], node: Node): IntegerField['path'] {
  const properties = (node.properties ?? {}) as Record<string, Node>;
  const required = (node.required ?? []) as string[];
  const select = Object.fromEntries(Object.entries(properties).flatMap(([key, p]): [string, string | number][] => {
    if (typeof p.const === 'string') return [[key, p.const]];
    return p.type === 'integer' && required.includes(key) ? [[key, p.minimum as number]] : [];
  }));
  const last = path.at(-1);
  if (last === undefined || Object.keys(select).length === 0) return path;
  return [...path.slice(0, -1), { ...last, select: { ...last.select, ...select } }];
}

/** Every integer field, with the constants (type, name) that select its union member on the way. */
function integerFields(node: Node, path: IntegerField['path'] = []): IntegerField[] {
  if (node.type === 'integer') return [{ path, minimum: node.minimum as number, maximum: node.maximum as number | undefined }];
  const members = (node.anyOf as Node[] | undefined) ?? [];
  const fromMembers = members.flatMap((member) => integerFields(member, path));
  const properties = (node.properties ?? {}) as Record<string, Node>;
  const narrowed = narrowedBy(path, node);
  const fromProperties = Object.entries(properties).flatMap(([key, child]) => integerFields(child, [...narrowed, { key }]));
  return [...fromMembers, ...fromProperties];
}

const fields = integerFields(schema as Node);
const base = () => ({
  problem: { name: 'toy/nonconvex' },
  solver: { dynamics: { type: 'gd' }, hypergradient: { type: 'reverse' }, upper: { optimizer: 'sgd', lr: 0.01 } },
  iterations: 10,
  priorAnchor: { pretrainSteps: 1, lr: 0.1 },
});
// Union members whose fields the base's member would not take: the start they replace it with.
const memberStarts: Record<string, Record<string, Record<string, unknown>>> = {
  problem: {
    'hyper-cleaning': { name: 'hyper-cleaning' },
    'nas-retrain': { name: 'nas-retrain', genotype: { normal: [['skip_connect', 0], ['skip_connect', 1]], normal_concat: [2], reduce: [['max_pool_3x3', 0], ['max_pool_3x3', 1]], reduce_concat: [2] } },
  },
  solver: { training: { dynamics: { type: 'gd' } } },
};

/** A valid base config with `value` at the field's path (the union members its path selects). */
function configWith(field: IntegerField, value: number): Record<string, unknown> {
  const config: Record<string, unknown> = base();
  let node = config;
  field.path.forEach(({ key, select }, i) => {
    const last = i === field.path.length - 1;
    if (last) {
      node[key] = value;
      return;
    }
    const member = Object.values(select ?? {}).find((v): v is string => typeof v === 'string' && memberStarts[key]?.[v] !== undefined);
    const start = member !== undefined ? memberStarts[key][member] : node[key] ?? {};
    node[key] = { ...(start as object), ...select };
    node = node[key] as Record<string, unknown>;
  });
  return config;
}

const selectors = (select: Record<string, string | number> = {}) => Object.values(select).filter((v) => typeof v === 'string');
const name = (field: IntegerField) => field.path.map(({ key, select }) => key + (selectors(select).length ? `(${selectors(select).join(',')})` : '')).join('.');

test('the schema has integer fields to check', () => {
  expect(fields.length).toBeGreaterThan(15);
});

test.each(fields.map((field) => [name(field), field] as const))('%s states an upper bound, and a value past it is refused', (_, field) => {
  expect(field.maximum).toBeDefined();
  expect(field.maximum!).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  const key = field.path.at(-1)!.key;
  expect(() => validateRunConfig(configWith(field, field.maximum! + 1))).toThrow(
    new RegExp(`${key}: must be an integer in \\[${field.minimum}, ${field.maximum}\\]`),
  );
  // The bound itself passes the schema (later checks, e.g. truncated steps <= K, are not its business).
  let refusal = '';
  try {
    validateRunConfig(configWith(field, field.maximum!));
  } catch (err) {
    refusal = (err as Error).message;
  }
  expect(refusal).not.toMatch(/must be an integer/);
});
