// npm run schema: writes schema/bilevel-run.schema.json, the JSON Schema of run configs that
// editors use for completion, generated from RunConfigSchema (lib/run-config.ts) so the two
// cannot drift; test/cli.test.ts fails when the committed file is not the generated one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runConfigJsonSchemaText } from '../lib/run-config';

const file = path.join(__dirname, '..', 'schema', 'bilevel-run.schema.json');
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, runConfigJsonSchemaText());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
