// Where a command writes: stdout carries only results (summary lines, tables, JSON); progress and
// messages go to stderr, one line each, so that scripts can read them line by line.

/** The process's streams, or collectors in tests. */
export interface Terminal {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

export const processTerminal: Terminal = { stdout: process.stdout, stderr: process.stderr };

const oneLine = (message: string) => message.replace(/\s*\n\s*/g, ' ').trim();

export const printError = (term: Terminal, message: string) => term.stderr.write(`${oneLine(message)}\n`);
