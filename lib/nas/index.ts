// Architecture search scripted from Node (docs/algorithms.md §14): one search, or a sweep of them.
import { retrain } from './retrain';
import { nasMethods, nasSolver, nasSolverConfig, search } from './search';
import { sweep } from './sweep';

export const nas = { search, sweep, retrain, methods: nasMethods, solver: nasSolver, solverConfig: nasSolverConfig };
