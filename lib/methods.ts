// Typed, validated factories for the composable pieces of a solver: dynamics, hypergradients,
// optimizers. Each returns the plain config object (the JSON shape), defaults filled in.
import type { Static } from '@sinclair/typebox';
import {
  dynamicsSchemas, hypergradientSchemas, optimizerSchemas, validate,
  type DynamicsConfig, type HypergradientConfig, type OptimizerConfig,
} from './config';

type Options<S, Tag extends string> = Partial<Omit<S, Tag>>;
type DynamicsOf<K extends keyof typeof dynamicsSchemas> = Static<(typeof dynamicsSchemas)[K]>;
type HypergradientOf<K extends keyof typeof hypergradientSchemas> = Static<(typeof hypergradientSchemas)[K]>;
type OptimizerOf<K extends keyof typeof optimizerSchemas> = Static<(typeof optimizerSchemas)[K]>;

const dynamics = <K extends keyof typeof dynamicsSchemas>(type: K) =>
  (options: Options<DynamicsOf<K>, 'type'> = {}): DynamicsOf<K> =>
    validate(dynamicsSchemas[type], { ...options, type }, `dynamics(${type})`) as DynamicsOf<K>;

/** y_{k+1} = Proj(y_k - lr grad_y f) (Eq. 8). */
export const gd = dynamics('gd');
/** Descent aggregation of grad_y F and grad_y f (Eq. 7); mu = 0 is gd with lr = beta * lr. */
export const bda = dynamics('bda');
/** FISTA-form Nesterov acceleration for convex LL (Eq. 9). */
export const nesterov = dynamics('nesterov');
/** Ghadimi-Lan accelerated gradient for non-convex LL (Eq. 10). */
export const accelerated = dynamics('accelerated');

const hypergradient = <K extends keyof typeof hypergradientSchemas>(type: K) =>
  (options: Options<HypergradientOf<K>, 'type'> = {}): HypergradientOf<K> =>
    validate(hypergradientSchemas[type], { ...options, type }, `hypergradient(${type})`) as HypergradientOf<K>;

/** RHG: reverse mode through the whole trajectory (or up to Kbar under PTT). */
export const reverse = hypergradient('reverse');
/** T-RHG: reverse mode through the last `steps` LL steps only. */
export const truncated = (options: { steps: number }): HypergradientOf<'truncated'> =>
  hypergradient('truncated')(options);
/** FHG: forward mode, memory independent of K; one tangent per scalar of x (and z). */
export const forward = hypergradient('forward');
/** Implicit gradient, (H + damping I) v = grad_y F solved by conjugate gradients. */
export const cg = hypergradient('cg');
/** Implicit gradient with a truncated Neumann series for H^{-1}. */
export const neumann = hypergradient('neumann');
/** DARTS' finite-difference approximation of the last gd step. */
export const finiteDifference = hypergradient('finiteDifference');
/** grad_x F(x, y_K), no indirect term. */
export const firstOrder = hypergradient('firstOrder');

const optimizer = <K extends keyof typeof optimizerSchemas>(kind: K) =>
  (options: Options<OptimizerOf<K>, 'optimizer'> = {}): OptimizerOf<K> =>
    validate(optimizerSchemas[kind], { ...options, optimizer: kind }, `optimizer(${kind})`) as OptimizerOf<K>;

/** p <- Proj(p - lr g). */
export const sgd = optimizer('sgd');
/** Heavy ball: m <- momentum m + g; p <- Proj(p - lr m). */
export const momentum = optimizer('momentum');
/** Adam with bias correction, then the projection. */
export const adam = optimizer('adam');

export type { DynamicsConfig, HypergradientConfig, OptimizerConfig };
