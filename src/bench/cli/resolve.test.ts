import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from './args.ts';
import { resolveConfig, resolveData, resolveModel } from './resolve.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

test('shipped models resolve to their file, format and card facts', () => {
  const onnx = resolveModel(ROOT, { model: 'cifar10-resnet26' });
  assert.equal(onnx.spec.format, 'onnx');
  assert.equal(onnx.spec.url, '/bench-files/model/cifar10-resnet26.onnx');
  assert.deepEqual(onnx.spec.inputShape, [32, 32, 3]);
  assert.equal(onnx.spec.numClasses, 10);
  assert.equal(onnx.spec.methodDefaults, 'cifar10');
  assert.equal(onnx.dir, join(ROOT, 'models'));
  const layers = resolveModel(ROOT, { model: 'darknet-tiny' });
  assert.equal(layers.spec.format, 'tfjs-layers');
  assert.equal(layers.spec.url, '/bench-files/model/model.json');
  assert.equal(layers.dir, join(ROOT, 'models/darknet-tiny'));
  assert.equal(layers.spec.methodDefaults, 'imagenet');
  // A path to the folder finds the card next to it.
  assert.equal(resolveModel(ROOT, { model: join(ROOT, 'models/darknet-tiny') }).spec.name, 'darknet-tiny');
  assert.throws(() => resolveModel(ROOT, { model: 'resnet-9000' }), /no card .*resnet-9000\.json \(shipped models: .*cifar10-resnet26/);
  assert.throws(() => resolveModel(ROOT, { model: join(ROOT, 'models/fixtures/nope.onnx') }), /nope\.onnx not found/);
});

test('data set kinds are recognised from the folder', () => {
  const corruptions = ['gaussian_noise'];
  const cifar = resolveData({ data: join(ROOT, 'public/samples/cifar10'), corruptions });
  assert.deepEqual([cifar.spec.kind, cifar.spec.file], ['cifar10c', 'test_canonical_0-999.bin']);
  const mini = resolveData({ data: join(ROOT, 'public/samples/imagenet'), corruptions });
  assert.deepEqual([mini.spec.kind, mini.spec.file], ['mini-imagenet-c', 'labels.txt']);
  const camvid = resolveData({ data: join(ROOT, 'public/samples/camvid'), corruptions });
  assert.deepEqual([camvid.spec.kind, camvid.spec.file], ['camvid-c', '']);
  const dir = mkdtempSync(join(tmpdir(), 'bench-resolve-'));
  try {
    writeFileSync(join(dir, 'labels.npy'), '');
    assert.equal(resolveData({ data: dir, corruptions }).spec.kind, 'cifar10c-npy');
    rmSync(join(dir, 'labels.npy'));
    assert.throws(() => resolveData({ data: dir, corruptions }), /cannot tell the data set kind/);
    mkdirSync(join(dir, 'gaussian_noise'));
    assert.equal(resolveData({ data: dir, corruptions }).spec.kind, 'imagenet-c');
    assert.throws(() => resolveData({ data: dir, corruptions: ['gaussian_noise', 'fog'], dataset: 'imagenet-c' }), /no folder fog\//);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('model and data must agree on the classes', () => {
  const opts = parseArgs(['--model', 'darknet-tiny', '--data', join(ROOT, 'public/samples/cifar10')]);
  assert.throws(() => resolveConfig(ROOT, opts, ['source']), /darknet-tiny has 1000 classes, cifar10c has 10/);
  const ok = resolveConfig(ROOT, parseArgs(['--open-set', '0.2', '--data', join(ROOT, 'public/samples/cifar10')]), ['source']);
  assert.deepEqual(ok.config.openSet, { share: 0.2 });
  assert.deepEqual(Object.keys(ok.mounts), ['model', 'data']);
  assert.throws(() => resolveConfig(ROOT, parseArgs(['--model', 'camvid-unet', '--data', join(ROOT, 'public/samples/cifar10')]), ['source']), /camvid-unet \(segmentation\) does not fit data set cifar10c/);
  assert.equal(resolveConfig(ROOT, parseArgs(['--model', 'camvid-unet', '--data', join(ROOT, 'public/samples/camvid')]), ['source']).config.model.ignoreLabel, 11);
  assert.throws(() => resolveConfig(ROOT, parseArgs(['--model', 'darknet-tiny', '--data', join(ROOT, 'public/samples/imagenet'), '--ort-baseline']), ['source']), /--ort-baseline needs an ONNX model/);
});

test('batch size: each method its published size for the data set without --batch, the --batch value for all with it', () => {
  const cifar = join(ROOT, 'public/samples/cifar10');
  const methods = ['source', 'tent', 'rotta', 'stamp', 'sar'];
  const published = resolveConfig(ROOT, parseArgs(['--data', cifar]), methods).config;
  assert.deepEqual(published.batchSizes, { source: 200, tent: 200, rotta: 64, stamp: 64, sar: 200 });
  assert.equal(published.batchSize, undefined);
  assert.equal(published.forwardBatchSize, 64);
  const imagenet = resolveConfig(ROOT, parseArgs(['--model', 'darknet-tiny', '--data', join(ROOT, 'public/samples/imagenet')]), methods).config;
  assert.deepEqual(Object.values(imagenet.batchSizes), [64, 64, 64, 64, 64]);
  const explicit = resolveConfig(ROOT, parseArgs(['--data', cifar, '--batch', '16']), methods).config;
  assert.deepEqual(explicit.batchSizes, { source: 16, tent: 16, rotta: 16, stamp: 16, sar: 16 });
  assert.equal(explicit.batchSize, 16);
  assert.equal(explicit.forwardBatchSize, 16);
});
