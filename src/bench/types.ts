/**
 * The benchmark's configuration and results: what the CLI sends to the page and what it
 * writes to results.json. Plain JSON (structured-cloneable) throughout.
 */
import type { BackendChoice, BackendInfo } from '../runtime/backend.ts';
import type { Task } from '../model/types.ts';
import type { RuntimeMemory } from '../runtime/session.ts';
import type { BatchRange } from '../stream/stream.ts';

/** Protocol settings (../shared/docs/methods.md). */
export const SETTINGS = ['continual', 'reset_each_shift', 'mixed_domains', 'correlated'] as const;
export type Setting = (typeof SETTINGS)[number];

export const DATASET_KINDS = ['cifar10c', 'cifar10c-npy', 'imagenet-c', 'mini-imagenet-c', 'camvid-c'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export interface DatasetSpec {
  kind: DatasetKind;
  /** Where the page fetches it (a URL path served by the CLI's server). */
  url: string;
  /** What the user gave, for the record. */
  source: string;
  /** cifar10c: the file inside `url` with the clean test images (CIFAR-10 binary records). */
  file?: string;
}

export interface ModelSpec {
  name: string;
  format: 'onnx' | 'tfjs-layers';
  /** URL of the .onnx file or the TF.js model.json. */
  url: string;
  task: Task;
  inputShape: [number, number, number];
  numClasses: number;
  /** Segmentation: the label value of unlabelled pixels. */
  ignoreLabel?: number;
  /** Which per-dataset method defaults apply. */
  methodDefaults: 'cifar10' | 'cifar100' | 'imagenet' | 'camvid';
  /** The model card as loaded (status, epoch, accuracy...), recorded in the results. */
  card?: Record<string, unknown>;
}

export interface BenchConfig {
  model: ModelSpec;
  /** Method names as the registry knows them. */
  methods: string[];
  settings: Setting[];
  dataset: DatasetSpec;
  /** Corruptions in stream order (continual order). */
  corruptions: string[];
  /** 'given' keeps the order of `corruptions`; 'shuffled' draws one order per seed. */
  order: 'given' | 'shuffled';
  severities: number[];
  /** Images per domain (corruption x severity). */
  n: number;
  /** --batch when given: every method's batch size. */
  batchSize?: number;
  /** Batch size of each method's runs: --batch, else the method's published size for the data set. */
  batchSizes: Record<string, number>;
  /** --batch MIN-MAX: every batch's size is drawn from this range instead (seeded by the run's seed). */
  batchRange?: BatchRange;
  seeds: number[];
  backend: BackendChoice;
  /** Hyper-parameter overrides per method name. */
  overrides: Record<string, Record<string, unknown>>;
  /** Open-set streams: this share of every domain's stream is outlier images. */
  openSet?: { share: number };
  /** Also time forward passes of the same ONNX model in onnxruntime-web. */
  ortBaseline: boolean;
  /** Batches timed for the forward-only throughput figures, and their size. */
  forwardBatches: number;
  forwardBatchSize: number;
}

export interface RunKey {
  method: string;
  setting: Setting;
  seed: number;
}

export interface DomainResult extends RunKey {
  /** Position of the domain in the run's stream. */
  domainIndex: number;
  corruption: string;
  severity: number;
  /** Labelled (known-class) images scored. */
  n: number;
  errorPct: number;
  outliers?: number;
  auroc?: number;
  hScore?: number;
  /** Segmentation. */
  mIoU?: number;
  /** Adaptation throughput on this domain: images processed and step time. */
  images: number;
  ms: number;
  imagesPerSec: number;
  /** Error on this domain's known-class images in each batch that holds some, in stream order. */
  batchErrorPct: number[];
  /** Mean of each statistic the method reported per batch. */
  stats: Record<string, number>;
  /** Steps (batches) on this domain. */
  steps?: number;
  /** Runtime memory after the domain's last step (flat across domains = no leak). */
  memory?: RuntimeMemory;
  /** Predictions (probabilities) that came out NaN/Inf on this domain. */
  nonFinitePredictions?: number;
}


export interface RunResult extends RunKey {
  /** Images per step of this run. */
  batchSize: number;
  /** Wall time of the run's first step, including any one-off set-up inside it. */
  timeToFirstBatchMs: number;
  domains: DomainResult[];
}

export interface ForwardThroughput {
  engine: 'webtta' | 'onnxruntime-web';
  backend: string;
  /** onnxruntime-web: its wasm threads. */
  threads?: number;
  batchSize: number;
  batches: number;
  imagesPerSec: number;
  /** First call (compilation / warm-up), excluded from imagesPerSec. */
  firstBatchMs: number;
}

export interface Environment {
  backend: BackendInfo;
  userAgent: string;
  browserVersion: string;
  hardwareConcurrency: number;
  machine: { platform: string; arch: string; cpus: number; cpuModel: string; memoryGiB: number; node: string; hostname?: string };
  gitCommit?: string;
}

export interface BenchResults {
  schema: 'webtta-bench/1';
  config: BenchConfig;
  model: { name: string; hash: string; card?: Record<string, unknown> };
  environment: Environment;
  startedAt: string;
  finishedAt: string;
  runs: RunResult[];
  forward: ForwardThroughput[];
}
