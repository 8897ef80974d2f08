export { BilevelError, type BilevelErrorCode } from './errors';
export {
  Tensor, tensor, full, zeros, ones, grad, noGrad, manualSeed, tidy,
  type Dtype, type Device, type NestedArray, type CreateOptions, type GradOptions,
} from './tensor';
import { native } from './binding';

/** Versions of the library's native parts. */
export function versions(): { libtorch: string; cuda: boolean; napi: number; threads: number } {
  return native.versions();
}
