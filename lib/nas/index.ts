// Architecture search scripted from Node (docs/algorithms.md §14): one search, or a sweep of them.
import { nasMethods, nasSolverConfig, search } from './search';
import { sweep } from './sweep';

export const nas = { search, sweep, methods: nasMethods, solverConfig: nasSolverConfig };
