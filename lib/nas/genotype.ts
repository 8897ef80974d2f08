// Genotypes of the DARTS space (docs/algorithms.md §14.3): derived natively from the architecture
// weights, in DARTS's own structure, so JSON.stringify gives what DARTS's tools read.
import type { NativeGenotype } from '../../binding';
import * as check from '../arguments';
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
