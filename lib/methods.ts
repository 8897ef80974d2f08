// Typed, validated factories for the composable pieces of a solver: dynamics, hypergradients,
// optimizers. Each returns the plain config object (the JSON shape), defaults filled in.
import type { TSchema } from '@sinclair/typebox';
import * as check from './arguments';
import {
  dynamicsSchemas, hypergradientSchemas, optimizerSchemas, validate,
  type DynamicsByType, type DynamicsConfig, type HypergradientByType, type HypergradientConfig, type OptimizerByName,
  type OptimizerConfig, type TruncatedConfig,
} from './config';

// A factory for one member of a family: its options minus the tag, validated, defaults filled.
// The options are typed by the family's documented interfaces, so an editor shows each one's default.
function member<Family, K extends keyof Family & string>(
  schemas: Record<keyof Family, TSchema>, tagKey: string, tag: K, family: string,
) {
  type Config = Family[K];
  const path = `${family}(${tag})`;
  return (options: Partial<Omit<Config, 'type' | 'optimizer'>> = {}): Config =>
    validate(schemas[tag], { ...check.object(options, path), [tagKey]: tag }, path) as Config;
}
const dynamics = <K extends keyof DynamicsByType>(type: K) => member<DynamicsByType, K>(dynamicsSchemas, 'type', type, 'dynamics');
const hypergradient = <K extends keyof HypergradientByType>(type: K) =>
  member<HypergradientByType, K>(hypergradientSchemas, 'type', type, 'hypergradient');
const optimizer = <K extends keyof OptimizerByName>(kind: K) =>
  member<OptimizerByName, K>(optimizerSchemas, 'optimizer', kind, 'optimizer');

/** y_{k+1} = Proj(y_k - lr grad_y f) (Eq. 8). */
export const gd = dynamics('gd');
/** Descent aggregation of grad_y F and grad_y f (Eq. 7); mu = 0 is gd with lr = beta * lr. */
export const bda = dynamics('bda');
/** FISTA-form Nesterov acceleration for convex LL (Eq. 9). */
export const nesterov = dynamics('nesterov');
/** Ghadimi-Lan accelerated gradient for non-convex LL (Eq. 10). */
export const accelerated = dynamics('accelerated');
/** SGD with heavy-ball momentum, weight decay and gradient clipping; a warm start carries the velocity. */
export const heavyBall = dynamics('heavyBall');

/** RHG: reverse mode through the whole trajectory (or up to Kbar under PTT). */
export const reverse = hypergradient('reverse');
/** T-RHG: reverse mode through the last `steps` LL steps only. */
export const truncated = (options: Omit<TruncatedConfig, 'type'>): TruncatedConfig =>
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

/** p <- Proj(p - lr g). */
export const sgd = optimizer('sgd');
/** Heavy ball: m <- momentum m + g; p <- Proj(p - lr m). */
export const momentum = optimizer('momentum');
/** Adam with bias correction, then the projection. */
export const adam = optimizer('adam');

export type { DynamicsConfig, HypergradientConfig, OptimizerConfig };
