import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOverrides, expandMethods } from './methods.ts';
import { METHODS } from '../methods/index.ts';

test('method names: all expands to the registry, unknown and repeated names fail', () => {
  assert.deepEqual(expandMethods(['all']), [...METHODS.keys()]);
  assert.deepEqual(expandMethods(['tent', 'source']), ['tent', 'source']);
  assert.throws(() => expandMethods(['tnet']), /unknown TTA method 'tnet'/);
  assert.throws(() => expandMethods(['tent', 'tent']), /twice/);
});

test('overrides are checked against the method defaults before a run', () => {
  checkOverrides({ tent: { lr: 0.01, resetEvery: 10 } }, 'cifar10');
  assert.throws(() => checkOverrides({ tent: { learningRate: 0.01 } }, 'cifar10'), /--set tent\.learningRate: unknown option \(known: .*lr/);
  assert.throws(() => checkOverrides({ tent: { lr: 'fast' } }, 'cifar10'), /--set tent\.lr="fast": expected a number/);
});
