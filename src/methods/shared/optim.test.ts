import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Adam, Sgd, createOptimizer, cosineLr, type Optimizer } from './optim.ts';
import { useCpuBackend, values, maxAbsDiff } from '../testing/backend.ts';

before(useCpuBackend);

const P0 = [0.5, -1.0, 2.0];
const GRADS = [[0.1, -0.2, 0.3], [-0.4, 0.5, 0.05], [0.2, 0.2, -0.1], [1.0, -1.5, 0.0]];

// Parameter values after each step, printed by torch 1.13 torch.optim (float32) for P0 / GRADS.
const TORCH = {
  sgdMomentumDampeningWd: [[0.4894999861717224, -0.9789999723434448, 1.968000054359436], [0.5156094431877136, -1.0042188167572021, 1.9329288005828857], [0.5206438899040222, -1.0440120697021484, 1.9086251258850098], [0.43470633029937744, -0.9438863396644592, 1.8850339651107788]],
  sgdNesterov: [[0.49810001254081726, -0.9962000250816345, 1.9943000078201294], [0.5048900246620178, -1.004080057144165, 1.990920066833496], [0.5036010146141052, -1.010472059249878, 1.9902280569076538], [0.4852409064769745, -0.9859248399734497, 1.9887052774429321]],
  adam: [[0.49900001287460327, -0.9990000128746033, 1.9989999532699585], [0.49955952167510986, -0.9994422197341919, 1.9982166290283203], [0.4996697008609772, -0.9999851584434509, 1.9978411197662354], [0.4991788864135742, -0.9996013045310974, 1.9975335597991943]],
  adamWdEps: [[0.4503311216831207, -0.9501661062240601, 1.9500998258590698], [0.47415468096733093, -0.962980329990387, 1.904638409614563], [0.46956923604011536, -0.9792075753211975, 1.8664511442184448], [0.43737518787384033, -0.9509833455085754, 1.8280881643295288]],
};

function runSteps(make: (v: tf.Variable[]) => Optimizer): number[][] {
  const v = tf.variable(tf.tensor1d(P0));
  const opt = make([v]);
  const out: number[][] = [];
  for (const g of GRADS) {
    const gt = tf.tensor1d(g);
    opt.step([gt]);
    gt.dispose();
    out.push(values(v));
  }
  opt.dispose();
  v.dispose();
  return out;
}

function assertClose(actual: number[][], expected: number[][], tol: number, label: string) {
  actual.forEach((row, i) => assert.ok(maxAbsDiff(row, expected[i]!) < tol, `${label} step ${i + 1}: ${row} vs ${expected[i]}`));
}

test('SGD with momentum, dampening and weight decay matches torch.optim.SGD', () => {
  assertClose(runSteps((v) => new Sgd(v, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 })), TORCH.sgdMomentumDampeningWd, 1e-6, 'sgd');
});

test('SGD Nesterov matches torch.optim.SGD(nesterov=True)', () => {
  assertClose(runSteps((v) => new Sgd(v, { lr: 0.01, momentum: 0.9, nesterov: true })), TORCH.sgdNesterov, 1e-6, 'nesterov');
});

test('Adam (eps after the bias-corrected sqrt, L2 weight decay) matches torch.optim.Adam', () => {
  assertClose(runSteps((v) => new Adam(v, { lr: 1e-3 })), TORCH.adam, 1e-6, 'adam');
  assertClose(runSteps((v) => createOptimizer(v, { kind: 'adam', lr: 0.05, betas: [0.8, 0.99], eps: 1e-3, weightDecay: 0.1 })), TORCH.adamWdEps, 1e-6, 'adam wd');
});

test('exported state continues a run exactly; reset forgets momentum; bad gradients are named', () => {
  for (const make of [(v: tf.Variable[]) => new Adam(v, { lr: 0.01 }), (v: tf.Variable[]) => new Sgd(v, { lr: 0.1, momentum: 0.9 })]) {
    const full = runSteps(make);
    const v = tf.variable(tf.tensor1d(P0));
    const a = make([v]);
    GRADS.slice(0, 2).forEach((g) => tf.tidy(() => a.step([tf.tensor1d(g)])));
    const state = a.exportState();
    a.dispose();
    const b = make([v]);
    b.importState(state);
    Object.values(state.slots).flat().forEach((t) => t?.dispose());
    GRADS.slice(2).forEach((g) => tf.tidy(() => b.step([tf.tensor1d(g)])));
    assert.deepEqual(values(v), full[3]);
    b.dispose();
    v.dispose();
  }
  const v = tf.variable(tf.tensor1d([1]));
  const sgd = new Sgd([v], { lr: 1, momentum: 0.5 });
  tf.tidy(() => sgd.step([tf.tensor1d([1])]));
  sgd.reset();
  tf.tidy(() => sgd.step([tf.tensor1d([1])]));
  assert.deepEqual(values(v), [-1], 'after reset the buffer restarts at the gradient');
  assert.throws(() => tf.tidy(() => sgd.step([tf.tensor1d([1, 2])])), /gradient 0 has shape \[2\]/);
  assert.throws(() => new Sgd([v], { lr: 1, nesterov: true }), /Nesterov/);
  sgd.dispose();
  v.dispose();
});

test('no tensors leak across optimiser steps', () => {
  const v = tf.variable(tf.tensor1d(P0));
  const opt = new Adam([v], { lr: 0.01 });
  const g = tf.tensor1d([0.1, 0.2, 0.3]);
  opt.step([g]);
  const n = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) opt.step([g]);
  assert.equal(tf.memory().numTensors, n);
  opt.dispose();
  g.dispose();
  v.dispose();
});

test('cosine annealing follows CosineAnnealingLR', () => {
  assert.equal(cosineLr(0.1, 0, 150), 0.1);
  assert.ok(Math.abs(cosineLr(0.1, 75, 150) - 0.05) < 1e-15);
  assert.ok(Math.abs(cosineLr(0.1, 150, 150)) < 1e-15);
});
