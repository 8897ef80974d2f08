// TypeScript consumer (ES module output) type-checked against the installed declarations.
import { tensor, versions, type RunConfig } from 'bilevel';

const config: Pick<RunConfig, 'iterations'> = { iterations: 3 };
export const total: number = tensor([1, 2]).sum().item() + config.iterations + versions().threads;
