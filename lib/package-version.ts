// The package's own version, read from package.json (one folder above lib/ and above dist/), so
// that --version and the versions a run records need no native addon to say it.
import * as fs from 'node:fs';
import * as path from 'node:path';

export function packageVersion(): string {
  const file = path.join(__dirname, '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}
