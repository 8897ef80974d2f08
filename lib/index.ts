export { BilevelError, type BilevelErrorCode } from './errors';
export {
  Tensor, Generator, tensor, full, zeros, ones, eye, arange, linspace, rand, randn, randint,
  grad, noGrad, manualSeed, tidy, type RandomOptions,
  type Dtype, type Device, type NestedArray, type CreateOptions, type GradOptions,
} from './tensor';
import { native } from './binding';

/** Versions of the library's native parts. */
export function versions(): { libtorch: string; cuda: boolean; napi: number; threads: number } {
  return native.versions();
}
