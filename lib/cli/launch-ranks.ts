// bilevel run CONFIG --nproc N (and bilevel nas search): N local ranks of one run, as torchrun would
// start them. Each rank is this CLI again (the same command and arguments, the progress of rank 0 only) with
// torchrun's variables: RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR (loopback) and
// MASTER_PORT (a free one), and the cores shared out (OMP_NUM_THREADS, unless set). The ranks run
// in a process group of their own, so a stop signal reaches each exactly once, through here. A
// rank that dies makes the others fail within a collective (a DISTRIBUTED error); any still running
// a minute later are killed, and all of them at once when rank 0 (which writes the outputs) failed.
// The exit code is rank 0's when it failed, else the first failed rank's.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { inProcessGroup } from '../distributed';
import { UsageError } from './exit';
import type { Terminal } from './terminal';

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const GRACE_MS = 60_000;
const MAX_PROCESSES = 256;

/** The option that asks for ranks, for a command's options. */
export const processesOption = { nproc: { type: 'string' } } as const;

function parseProcessesOption(command: string, text: string): number {
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > MAX_PROCESSES) {
    throw new UsageError(`${command}: --nproc must be an integer in [1, ${MAX_PROCESSES}]; got ${JSON.stringify(text)}`);
  }
  if (inProcessGroup()) throw new UsageError(`${command}: --nproc starts ranks; this process is one already (WORLD_SIZE is set)`);
  return Number(text);
}

/**
 * With --nproc N above 1 (`nproc`, the option's text), runs `bilevel COMMAND ARGS` (ARGS without
 * --nproc) as N ranks and resolves with their exit code; else (no --nproc, or 1) undefined: this
 * process runs the command itself. `command` is the command's words ('run'; 'nas', 'search').
 */
export function launchRanksIfAsked(term: Terminal, command: string[], args: string[], nproc: string | undefined): Promise<number> | undefined {
  if (nproc === undefined) return undefined;
  const processes = parseProcessesOption(command.join(' '), nproc);
  if (processes === 1) return undefined;
  const at = args.indexOf('--nproc');
  const rest = at < 0 ? args.filter((a) => !a.startsWith('--nproc=')) : [...args.slice(0, at), ...args.slice(at + 2)];
  return launchRanks(term, [...command, ...rest], processes);
}

/** A TCP port free on loopback now (the store of rank 0 binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Exit { rank: number; code: number | null; signal: NodeJS.Signals | null }

const exitCode = ({ code, signal }: Exit) => code ?? 128 + os.constants.signals[signal!];
const described = ({ rank, code, signal }: Exit) => `rank ${rank} ${signal === null ? `exited with code ${code}` : `was killed by ${signal}`}`;

/** Runs `bilevel ARGS` as nproc ranks; resolves with the exit code. */
async function launchRanks(term: Terminal, cliArgs: string[], nproc: number): Promise<number> {
  const port = await freePort();
  const threads = process.env.OMP_NUM_THREADS ?? String(Math.max(1, Math.floor(os.availableParallelism() / nproc)));
  const ranks: ChildProcess[] = Array.from({ length: nproc }, (_, rank) => spawn(
    process.execPath,
    [...process.execArgv, process.argv[1], ...cliArgs, ...(rank === 0 ? [] : ['--quiet'])],
    {
      detached: true,
      stdio: rank === 0 ? 'inherit' : ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(nproc), LOCAL_WORLD_SIZE: String(nproc),
        MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), OMP_NUM_THREADS: threads,
      },
    },
  ));
  const forward = (signal: NodeJS.Signals) => ranks.forEach((child) => child.exitCode === null && child.kill(signal));
  STOP_SIGNALS.forEach((signal) => process.on(signal, forward));
  let killTimer: NodeJS.Timeout | undefined;
  try {
    const exits = await Promise.all(ranks.map((child, rank) => new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        const exit = { rank, code, signal };
        const killRest = () => ranks.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'));
        if (exitCode(exit) !== 0 && rank === 0) killRest();
        else if (exitCode(exit) !== 0 && killTimer === undefined) killTimer = setTimeout(killRest, GRACE_MS);
        resolve(exit);
      });
    })));
    const failed = exits.filter((e) => exitCode(e) !== 0);
    // Ranks stopped by a signal all exit alike: 128 + its number, and no failure to report.
    if (failed.length === 0 || failed.every((e) => e.code !== null && e.code === failed[0].code && failed.length === nproc && e.code > 128)) {
      return exitCode(exits[0]);
    }
    term.stderr.write(`bilevel: ${failed.map(described).join('; ')}\n`);
    return exitCode(exits[0]) !== 0 ? exitCode(exits[0]) : exitCode(failed[0]);
  } finally {
    clearTimeout(killTimer);
    STOP_SIGNALS.forEach((signal) => process.off(signal, forward));
  }
}
