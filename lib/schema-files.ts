// The JSON Schemas shipped in schema/ (npm run schema writes them), by file name.
import { NasRetrainRunSchema } from './nas/retrain';
import { NasSearchSchema } from './nas/search';
import { NasSweepSchema } from './nas/sweep';
import { jsonSchemaText, runConfigJsonSchemaText } from './run-config';

export const schemaFiles = (): Record<string, string> => ({
  'bilevel-run.schema.json': runConfigJsonSchemaText(),
  'bilevel-nas-search.schema.json': jsonSchemaText(NasSearchSchema),
  'bilevel-nas-sweep.schema.json': jsonSchemaText(NasSweepSchema),
  'bilevel-nas-retrain.schema.json': jsonSchemaText(NasRetrainRunSchema),
});
