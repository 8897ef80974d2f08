// npm run schema: writes the JSON Schemas editors check the project's files with, generated from
// the TypeBox definitions the library validates with so they cannot drift: run configs
// (RunConfigSchema), NAS search files (NasSearchSchema) and NAS sweep files (NasSweepSchema);
// test/cli.test.ts fails when a committed file is not the generated one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { schemaFiles } from '../lib/schema-files';

for (const [name, text] of Object.entries(schemaFiles())) {
  const file = path.join(__dirname, '..', 'schema', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
