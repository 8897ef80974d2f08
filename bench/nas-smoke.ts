// The whole NAS pipeline per method, for bench/nas.ts: a search (nas.search), its derived genotype,
// then that genotype retrained from scratch (nas.retrain), with the retraining's test accuracy and
// the network's size. Two protocols: a smoke run small enough for 2 CPU cores (Fashion-MNIST), and
// the paper's on a GPU (CIFAR-10; ALGORITHMS.md's settings: searches at C = 16 with 8 cells, 3 for
// AIT, 50 epochs; retraining at C = 36, 20 cells, 600 epochs), which a lent GPU machine runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nas, type Genotype, type NasMethod, type NasRetrainSettings, type NasSearchSettings } from '../lib';

export interface PipelineProtocol {
  name: string;
  /** The search of a method (its task's seed included). */
  search: (method: NasMethod) => NasSearchSettings;
  /** The retraining of the genotype a search found. */
  retrain: (genotype: Genotype) => NasRetrainSettings;
  /** The protocol in words, for the doc. */
  description: string;
}

export const smokeProtocol: PipelineProtocol = {
  name: 'cpu smoke',
  search: (method) => ({
    method, lowerSteps: 3, epochs: 1, iterationsPerEpoch: 10,
    task: { dataset: 'fashion-mnist', channels: 4, cells: 3, nodes: 2, trainSize: 2000, validationSize: 2000, testSize: 1000, metricsSize: 1000, batchSize: 32, seed: 0 },
  }),
  retrain: (genotype) => ({
    epochs: 2,
    task: { dataset: 'fashion-mnist', genotype, channels: 8, cells: 5, trainSize: 2000, testSize: 1000, batchSize: 64, statisticsSize: 1000, seed: 0 },
  }),
  description: 'Fashion-MNIST; search: C = 4, 3 cells of 2 nodes, batch 32, 2000 / 2000 training / validation images, '
    + '1 epoch of 10 UL iterations (K = 3 for rhg, cg, ait); retraining: C = 8, 5 cells, batch 64, 2000 training images, '
    + '2 epochs, DARTS\'s recipe otherwise; 1000 test images',
};

/** The paper's protocol; `epochs` shortens both stages (a first look on a lent GPU). */
export function gpuProtocol(epochs?: { search: number; retrain: number }): PipelineProtocol {
  const root = process.env.BILEVEL_CIFAR10;
  return {
    name: 'gpu (paper)',
    search: (method) => ({
      method, lowerSteps: 3, epochs: epochs?.search ?? 50, device: 'cuda',
      task: { dataset: 'cifar10', ...(root === undefined ? {} : { root }), channels: 16, cells: method === 'ait' ? 3 : 8, nodes: 4, batchSize: 64, seed: 0 },
    }),
    retrain: (genotype) => ({
      epochs: epochs?.retrain ?? 600, device: 'cuda',
      task: { dataset: 'cifar10', ...(root === undefined ? {} : { root }), genotype, channels: 36, cells: 20, batchSize: 96, seed: 0 },
    }),
    description: 'CIFAR-10 ($BILEVEL_CIFAR10); search: C = 16, 8 cells (3 for ait) of 4 nodes, batch 64, DARTS\'s halves of the '
      + `training set, ${epochs?.search ?? 50} epochs; retraining: C = 36, 20 cells, batch 96, ${epochs?.retrain ?? 600} epochs, DARTS's recipe`,
  };
}

export interface PipelineRow {
  method: NasMethod;
  searchSeconds: number;
  /** The search network's test accuracy at the search's end. */
  searchTestAccuracy: number;
  genotype: Genotype;
  normalSkipConnections: number;
  retrainSeconds: number;
  testAccuracy: number;
  parameters: number;
}

/** Runs the pipeline of each method in a scratch folder (removed after). */
export async function runPipelines(protocol: PipelineProtocol, methods: readonly NasMethod[], log: (line: string) => void): Promise<PipelineRow[]> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-bench-nas-'));
  try {
    const rows: PipelineRow[] = [];
    for (const method of methods) {
      const searched = await nas.search({ ...protocol.search(method), out: path.join(scratch, `${method}-search`) });
      const last = searched.epochs.at(-1)!;
      const retrained = await nas.retrain({ ...protocol.retrain(searched.genotype), out: path.join(scratch, `${method}-retrain`) });
      const seconds = (epochs: { seconds: number }[]) => epochs.reduce((s, e) => s + e.seconds, 0);
      rows.push({
        method, searchSeconds: seconds(searched.epochs), searchTestAccuracy: last.metrics.testAccuracy, genotype: searched.genotype,
        normalSkipConnections: last.metrics.normalSkipConnections, retrainSeconds: seconds(retrained.epochs),
        testAccuracy: retrained.testAccuracy, parameters: retrained.parameters,
      });
      log(`${method}: search ${rows.at(-1)!.searchSeconds.toFixed(0)} s, retrained test accuracy ${(100 * retrained.testAccuracy).toFixed(2)}%`);
    }
    return rows;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const cells = (edges: Genotype['normal']) => edges.map(([op, input]) => `${op}(${input})`).join(' ');

export function pipelineTable(rows: readonly PipelineRow[]): string {
  return [
    '| method | search s | search net test % | skip connections | retrain s | retrained test % | parameters | normal cell | reduction cell |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|',
    ...rows.map((r) => `| ${r.method} | ${r.searchSeconds.toFixed(0)} | ${(100 * r.searchTestAccuracy).toFixed(2)} | ${r.normalSkipConnections} | `
      + `${r.retrainSeconds.toFixed(0)} | ${(100 * r.testAccuracy).toFixed(2)} | ${r.parameters.toLocaleString('en-US')} | `
      + `${cells(r.genotype.normal)} | ${cells(r.genotype.reduce)} |`),
  ].join('\n');
}
