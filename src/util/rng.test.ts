import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './rng.ts';

test('same seed gives the same sequence, different seeds differ', () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const sa = Array.from({ length: 5 }, () => a.nextUint32());
  assert.deepEqual(sa, Array.from({ length: 5 }, () => b.nextUint32()));
  assert.notDeepEqual(sa, Array.from({ length: 5 }, () => c.nextUint32()));
});

test('uniform, normal, poisson and gamma have the right first two moments', () => {
  const r = new Rng(1);
  const n = 200_000;
  const moments = (f: () => number) => {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) { const v = f(); s += v; s2 += v * v; }
    const m = s / n;
    return [m, s2 / n - m * m];
  };
  const [um, uv] = moments(() => r.random());
  assert.ok(Math.abs(um - 0.5) < 0.005 && Math.abs(uv - 1 / 12) < 0.002);
  const [nm, nv] = moments(() => r.normal(2, 3));
  assert.ok(Math.abs(nm - 2) < 0.03 && Math.abs(nv - 9) < 0.15, `${nm} ${nv}`);
  const [pm, pv] = moments(() => r.poisson(7.5));
  assert.ok(Math.abs(pm - 7.5) < 0.05 && Math.abs(pv - 7.5) < 0.15, `${pm} ${pv}`);
  const [gm, gv] = moments(() => r.gamma(0.3));
  assert.ok(Math.abs(gm - 0.3) < 0.01 && Math.abs(gv - 0.3) < 0.02, `${gm} ${gv}`);
});

test('dirichlet samples sum to one', () => {
  const p = new Rng(3).dirichlet(Array(10).fill(0.1));
  assert.equal(p.length, 10);
  assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-12);
});

test('save/load continues the same stream, including a cached normal; a bad state is refused', () => {
  const a = new Rng(11);
  a.normal(); // leaves a spare normal cached
  // Over many draws the internal words take every sign: each state must save and load.
  for (let i = 0; i < 1000; i++) new Rng(0).load(a.save()), a.random();
  const saved = a.save();
  const expected = [a.normal(), a.random(), a.int(0, 1000)];
  const b = new Rng(99);
  b.load(saved);
  assert.deepEqual([b.normal(), b.random(), b.int(0, 1000)], expected);
  assert.throws(() => b.load([1, 2, 3]), /4 uint32 words, a flag and a spare normal, got \[1, 2, 3\]/);
  assert.throws(() => b.load([1, 2, 3, -4, 0, 0]), /got \[1, 2, 3, -4, 0, 0\]/);
});
