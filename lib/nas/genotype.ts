// Genotypes of the DARTS space (docs/algorithms.md §14.3): derived natively from the architecture
// weights, in DARTS's own structure, so JSON.stringify gives what DARTS's tools read.
import { Type } from '@sinclair/typebox';
import type { NativeGenotype } from '../../binding';
import * as check from '../arguments';
import { validate } from '../config';
import { native } from '../binding';
import { tensorHandle, type Tensor } from '../tensor';

/** DARTS's operation names, in the order of a row of alpha. */
export const operationNames = [
  'none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5',
] as const;
export type OperationName = (typeof operationNames)[number];

/** One input of an intermediate node: the operation and the state it reads (0, 1: the cell's inputs; 2 + i: node i). */
export type GenotypeEdge = [OperationName, number];

/** A discrete architecture: two edges per intermediate node, and the states each cell concatenates. */
export interface Genotype {
  normal: GenotypeEdge[];
  normal_concat: number[];
  reduce: GenotypeEdge[];
  reduce_concat: number[];
}

export interface DeriveOptions {
  /** Intermediate nodes per cell (the task's `nodes`). @default 4 */
  nodes?: number;
  /** The last nodes each cell concatenates. @default nodes */
  multiplier?: number;
}

/**
 * DARTS's rule on x = [alpha.normal, alpha.reduce] (the NAS task's upper variables): each node
 * keeps its two incoming edges whose strongest operation other than `none` weighs most in the
 * edge's softmax, each with that operation.
 */
export function deriveGenotype(alphas: readonly Tensor[], options: DeriveOptions = {}): Genotype {
  check.object(options, 'deriveGenotype');
  if (!Array.isArray(alphas) || alphas.length !== 2) check.fail('deriveGenotype.alphas', '[alpha.normal, alpha.reduce]', alphas);
  const nodes = check.integer(options.nodes ?? 4, 'deriveGenotype.nodes', 1);
  const multiplier = check.integer(options.multiplier ?? nodes, 'deriveGenotype.multiplier', 1);
  const genotype: NativeGenotype = native.deriveGenotype(
    tensorHandle(alphas[0], 'deriveGenotype.alphas[0]'), tensorHandle(alphas[1], 'deriveGenotype.alphas[1]'), nodes, multiplier,
  );
  return genotype as Genotype;
}

/** How many of a cell's edges are skip connections (DARTS's collapse shows as this count growing). */
export const skipConnections = (edges: readonly GenotypeEdge[]): number => edges.filter(([op]) => op === 'skip_connect').length;

const operationSchema = Type.Union(operationNames.map((name) => Type.Literal(name)));
const cellSchema = Type.Array(Type.Tuple([operationSchema, Type.Integer({ minimum: 0 })]), { minItems: 2 });
const concatSchema = Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 });
/** A genotype in DARTS's structure, as deriveGenotype returns it and genotype.json holds it. */
export const GenotypeSchema = Type.Object(
  { normal: cellSchema, normal_concat: concatSchema, reduce: cellSchema, reduce_concat: concatSchema },
  { additionalProperties: false },
);

export interface EvaluationNetworkOptions {
  /** C of the first cells. @default 36 (DARTS's CIFAR-10 network) */
  channels?: number;
  /** @default 20 */
  cells?: number;
  /** @default 10 */
  classes?: number;
  /** Image channels: 3 for CIFAR-10 and image folders, 1 for Fashion-MNIST. @default 3 */
  inChannels?: number;
  /** @default 32 */
  imageSize?: number;
}

/**
 * The parameters of the evaluation network a genotype builds (docs/algorithms.md §14.5), without
 * its auxiliary head: the size DARTS reports (DARTS_V2 at C = 36, 20 cells: 3,349,342).
 */
export function evaluationNetworkSize(genotype: Genotype, options: EvaluationNetworkOptions = {}): number {
  validate(GenotypeSchema, genotype, 'evaluationNetworkSize.genotype');
  check.object(options, 'evaluationNetworkSize.options');
  const sizes = {
    channels: options.channels ?? 36, cells: options.cells ?? 20, classes: options.classes ?? 10,
    inChannels: options.inChannels ?? 3, imageSize: options.imageSize ?? 32,
  };
  for (const [name, value] of Object.entries(sizes)) check.integer(value, `evaluationNetworkSize.options.${name}`, 1);
  return native.evaluationNetworkSize(genotype as NativeGenotype, sizes);
}

