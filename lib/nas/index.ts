// Architecture search scripted from Node (docs/algorithms.md §14): one search, or a sweep of them.
import { followRetrain, retrain } from './retrain';
import { followSearch, nasMethods, nasSolver, nasSolverConfig, search } from './search';
import { sweep } from './sweep';

export const nas = {
  search, followSearch, sweep, retrain, followRetrain, methods: nasMethods, solver: nasSolver, solverConfig: nasSolverConfig,
};
