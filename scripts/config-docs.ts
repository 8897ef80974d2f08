// npm run docs:config: the option tables of docs/config.md (problems and each task's fields,
// dynamics, hypergradients, optimizers), generated from the TypeBox schemas the library validates
// with (lib/config.ts, lib/run-config.ts, lib/tasks/), so the
// reference cannot drift from the code; test/config-docs.test.ts fails when the committed file is
// not the generated one. Each table sits between `<!-- generated: NAME -->` and `<!-- end -->`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { describeSchema, dynamicsSchemas, hypergradientSchemas, optimizerSchemas } from '../lib/config';
import { problemSchemas } from '../lib/run-config';

export const CONFIG_DOC = path.join(__dirname, '..', 'docs', 'config.md');

/** Markdown table cells may not hold a bare |. */
const cell = (text: string) => text.replace(/\|/g, '\\|');

function option(name: string, field: TSchema, required: boolean): string {
  const what = field.description === undefined ? '' : ` (${field.description})`;
  const fallback = field.default !== undefined ? `, default ${field.default}` : required ? ', required' : '';
  return `\`${name}\`${what}: ${describeSchema(field)}${fallback}`;
}

/** One row per member: its name (`type` or `optimizer`), builder call, options, and summary. */
function table(members: Record<string, TSchema>, selector: 'type' | 'optimizer'): string {
  const rows = Object.entries(members).map(([name, member]) => {
    const properties = Object.entries(member.properties as Record<string, TSchema>).filter(([key]) => key !== selector);
    const required = new Set((member.required as string[] | undefined) ?? []);
    const options = properties.map(([key, field]) => option(key, field, required.has(key))).join('; ') || 'none';
    const builder = `${name}(${properties.length === 0 ? '' : `{${properties.map(([key]) => key).join(', ')}}`})`;
    const summary = member.description === undefined ? '' : member.description[0].toUpperCase() + member.description.slice(1);
    return `| \`${name}\` | \`${builder}\` | ${cell(options)}. ${cell(summary)} |`;
  });
  return [`| \`${selector}\` | builder | options |`, '|---|---|---|', ...rows].join('\n');
}

const optionsOf = (schema: TSchema) =>
  Object.entries(schema.properties as Record<string, TSchema>).filter(([key]) => key !== 'name');
const shownDefault = (field: TSchema) => (field.default === undefined ? '' : JSON.stringify(field.default));

/** One row per problem: its config name, what it is, its fields with their defaults. */
function problemsTable(): string {
  const rows = Object.entries(problemSchemas).map(([name, schema]) => {
    const fields = optionsOf(schema).map(([key, field]) => `\`${key}\`${field.default === undefined ? '' : ` = ${shownDefault(field)}`}`);
    return `| \`${name}\` | ${cell(schema.description ?? '')} | ${cell(fields.join(', '))} |`;
  });
  return ['| `name` | problem | fields (= default) |', '|---|---|---|', ...rows].join('\n');
}

/** A problem's fields: what each holds, its values, its default. */
function fieldsTable(schema: TSchema): string {
  const rows = optionsOf(schema).map(([key, field]) => {
    const what = field.description === undefined ? '' : `${field.description}: `;
    return `| \`${key}\` | ${cell(what + describeSchema(field))} | ${cell(shownDefault(field))} |`;
  });
  return ['| field | value | default |', '|---|---|---|', ...rows].join('\n');
}

export function generatedTables(): Record<string, string> {
  const learningTasks = Object.entries(problemSchemas).filter(([name]) => !name.startsWith('toy/'));
  return {
    problems: problemsTable(),
    ...Object.fromEntries(learningTasks.map(([name, schema]) => [`fields-${name}`, fieldsTable(schema)])),
    dynamics: table(dynamicsSchemas, 'type'),
    hypergradients: table(hypergradientSchemas, 'type'),
    optimizers: table(optimizerSchemas, 'optimizer'),
  };
}

/** text with every generated block replaced by its table; an unknown or missing block throws. */
export function withGeneratedTables(text: string): string {
  const tables = generatedTables();
  const seen = new Set<string>();
  const out = text.replace(/(<!-- generated: ([\w-]+) -->\n)[\s\S]*?(\n<!-- end -->)/g, (_, open: string, name: string, close: string) => {
    if (tables[name] === undefined) throw new Error(`docs/config.md: no generated table named ${name}`);
    seen.add(name);
    return `${open}${tables[name]}${close}`;
  });
  const missing = Object.keys(tables).filter((name) => !seen.has(name));
  if (missing.length > 0) throw new Error(`docs/config.md: no block for ${missing.join(', ')}`);
  return out;
}

if (require.main === module) {
  fs.writeFileSync(CONFIG_DOC, withGeneratedTables(fs.readFileSync(CONFIG_DOC, 'utf8')));
  console.log(`wrote the option tables of ${path.relative(process.cwd(), CONFIG_DOC)}`);
}
