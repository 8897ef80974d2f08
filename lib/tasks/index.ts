// Learning tasks built into the core, one file each; each factory is async (a task may read a dataset).
import { gan } from './gan';
import { hyperCleaning } from './hyper-cleaning';

export * from './gan';
export * from './hyper-cleaning';

export const tasks = { hyperCleaning, gan };
