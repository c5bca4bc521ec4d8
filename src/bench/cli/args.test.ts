import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_METHODS, parseArgs, parseValue } from './args.ts';

test('defaults: the quick continual CIFAR-10-C benchmark on the shipped samples', () => {
  const o = parseArgs([]);
  assert.equal(o.model, 'cifar10-resnet26');
  assert.deepEqual(o.methods, DEFAULT_METHODS);
  assert.deepEqual(o.settings, ['continual']);
  assert.equal(o.corruptions.length, 15);
  assert.equal(o.corruptions[0], 'gaussian_noise');
  assert.equal(o.corruptions[14], 'jpeg_compression');
  assert.deepEqual(o.severities, [5]);
  assert.deepEqual(o.seeds, [1]);
  assert.equal(o.data, 'public/samples/cifar10');
  assert.equal(o.batchSize, undefined, "no --batch: each method's published batch size");
});

test('lists, numbers, flags and both --k v and --k=v forms', () => {
  const o = parseArgs(['--methods', 'source,tent', '--setting=continual,reset_each_shift', '--corruptions', 'fog,gaussian_noise', '--severities', '3,5', '--n', '20', '--batch=10', '--seeds', '1,2', '--backend', 'wasm', '--ort-baseline', '--verbose', '--out', 'x']);
  assert.deepEqual(o.methods, ['source', 'tent']);
  assert.deepEqual(o.settings, ['continual', 'reset_each_shift']);
  assert.deepEqual(o.corruptions, ['fog', 'gaussian_noise']);
  assert.deepEqual(o.severities, [3, 5]);
  assert.equal(o.n, 20);
  assert.equal(o.batchSize, 10);
  assert.deepEqual(o.seeds, [1, 2]);
  assert.equal(o.backend, 'wasm');
  assert.equal(o.ortBaseline, true);
  assert.equal(o.verbose, true);
  assert.equal(o.out, 'x');
});

test('--batch MIN-MAX is a range of batch sizes (soak runs)', () => {
  const o = parseArgs(['--batch', '1-64']);
  assert.deepEqual(o.batchRange, { min: 1, max: 64 });
  assert.equal(o.batchSize, undefined);
  assert.throws(() => parseArgs(['--batch', '0-4']), /--batch: range '0-4' must be MIN-MAX with 1 <= MIN <= MAX/);
  assert.throws(() => parseArgs(['--batch', '9-4']), /range '9-4'/);
});

test('hyper-parameter overrides are typed', () => {
  const o = parseArgs(['--methods', 'tent,cotta', '--set', 'tent.lr=0.0005', '--set', 'cotta.rst=1e-2', '--set=tent.optimizer=sgd', '--set', 'cotta.episodic=true', '--set', 'tent.betas=[0.9,0.99]']);
  assert.deepEqual(o.overrides, { tent: { lr: 0.0005, optimizer: 'sgd', betas: [0.9, 0.99] }, cotta: { rst: 0.01, episodic: true } });
  assert.equal(parseValue('-3'), -3);
  assert.equal(parseValue(''), '');
});

test('bad input names the option and the value', () => {
  assert.throws(() => parseArgs(['--severities', '6']), /--severities: '6' is not an integer in 1..5/);
  assert.throws(() => parseArgs(['--corruptions', 'rain']), /unknown corruption 'rain'/);
  assert.throws(() => parseArgs(['--setting', 'episodic']), /unknown setting 'episodic'/);
  assert.throws(() => parseArgs(['--n']), /--n needs a value/);
  assert.throws(() => parseArgs(['--n', '--verbose']), /--n needs a value/);
  assert.throws(() => parseArgs(['--frobnicate']), /unknown option '--frobnicate'/);
  assert.throws(() => parseArgs(['--set', 'lr=1']), /expected method.key=value/);
  assert.throws(() => parseArgs(['--methods', 'source', '--set', 'tent.lr=1']), /'tent' is not in --methods/);
  assert.throws(() => parseArgs(['--backend', 'metal']), /unknown backend 'metal'/);
  assert.throws(() => parseArgs(['--verbose=1']), /takes no value/);
});
