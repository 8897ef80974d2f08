// Learning tasks built into the core, one file each; each factory is async (a task may read a dataset).
import { fewShot, fewShotConfigTask } from './few-shot';
import { gan, ganConfigTask } from './gan';
import { hyperCleaning, hyperCleaningConfigTask } from './hyper-cleaning';
import { nas, nasConfigTask } from './nas';
import { nasRetrain, nasRetrainConfigTask } from './nas-retrain';

export * from './config-task';
export * from './few-shot';
export * from './gan';
export * from './hyper-cleaning';
export * from './nas';
export * from './nas-retrain';

export const tasks = { hyperCleaning, gan, fewShot, nas, nasRetrain };

/** The tasks a run config names, by their config name (lib/run-config.ts adds the toy problems). */
export const configTasks = {
  'hyper-cleaning': hyperCleaningConfigTask, gan: ganConfigTask, 'few-shot': fewShotConfigTask, nas: nasConfigTask,
  'nas-retrain': nasRetrainConfigTask,
};
