/**
 * The shipped models as the page fetches them: Vite turns every file under models/ into a
 * served URL (dev server and production build alike), the model card names the files and
 * pins their sha256. A `model` attribute is a shipped name (e.g. 'cifar10-resnet26').
 */
import { loadModelCard, type ModelCard } from '../model/cards.ts';
import type { ModelSource } from '../runtime/session.ts';

const urls = import.meta.glob(['../../models/*.json', '../../models/*.onnx', '../../models/darknet-tiny/*'], {
  query: '?url',
  import: 'default',
  eager: true,
}) as Record<string, string>;

const PREFIX = '../../models/';

export function shippedModelNames(): string[] {
  return Object.keys(urls)
    .filter((k) => /^\.\.\/\.\.\/models\/[^/]+\.json$/.test(k))
    .map((k) => k.slice(PREFIX.length, -'.json'.length))
    .sort();
}

async function fetchModelFile(path: string): Promise<Uint8Array> {
  const url = urls[PREFIX + path];
  if (!url) throw new Error(`model file models/${path} is not shipped (known models: ${shippedModelNames().join(', ')})`);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`model file models/${path}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export interface FetchedModel {
  card: ModelCard;
  source: ModelSource;
}

/** Fetch a shipped model's card and verified files, ready for RuntimeClient.loadModel. */
export async function fetchShippedModel(name: string): Promise<FetchedModel> {
  if (!shippedModelNames().includes(name)) {
    throw new Error(`unknown model '${name}' (shipped: ${shippedModelNames().join(', ')})`);
  }
  const { card, files } = await loadModelCard(name, fetchModelFile);
  const model = card.files.find((f) => f.role === 'model');
  if (!model) throw new Error(`model card ${name}.json lists no file with role 'model'`);
  if (card.format === 'onnx') return { card, source: { format: 'onnx', bytes: files.get(model.path)! } };
  const modelJson = JSON.parse(new TextDecoder().decode(files.get(model.path)!)) as object;
  const weights = new Map<string, ArrayBuffer>();
  for (const f of card.files.filter((x) => x.role === 'weights')) {
    const bytes = files.get(f.path)!;
    weights.set(f.path.split('/').pop()!, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }
  return { card, source: { format: 'tfjs-layers', modelJson, weights } };
}

/** The dataset key the methods use for their per-dataset defaults. */
export function datasetOf(card: ModelCard): 'cifar10' | 'imagenet' | 'camvid' {
  if (card.task === 'segmentation') return 'camvid';
  return card.output.classes === 10 ? 'cifar10' : 'imagenet';
}

/** Only the card (no model files): what the demo needs to pick an element and a stream. */
export async function fetchShippedCard(name: string): Promise<ModelCard> {
  return (await loadModelCard(name, fetchModelFile, [])).card;
}
