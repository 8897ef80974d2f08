// Architecture search scripted from Node (docs/algorithms.md §14): one search, or a sweep of them.
import { nasMethods, nasSolver, nasSolverConfig, search } from './search';
import { sweep } from './sweep';

export const nas = { search, sweep, methods: nasMethods, solver: nasSolver, solverConfig: nasSolverConfig };
