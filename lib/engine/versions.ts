// The versions a run records (checkpoint meta, result.json, compare.json, the report), which a
// resumed run must match.
import { native } from '../binding';
import { packageVersion } from '../package-version';

// A type, not an interface: the report takes it as a Record<string, string>.
export type RunVersions = { bilevel: string; libtorch: string };

export const runVersions = (): RunVersions => ({ bilevel: packageVersion(), libtorch: native.versions().libtorch });
