;; Fused BatchNorm loops for the wasm backend with 128-bit SIMD, run on tfjs-wasm's own memory
;; (imported: no copies). Compiled by `npm run build:kernels` (scripts/build-kernels.ts) into
;; batch-norm-simd.wasm.ts, once as written (threaded tfjs-wasm: shared memory) and once with an
;; unshared memory import (the non-threaded build); loaded by batch-norm-simd.ts.
;;
;; Tensors are [m, c] row-major (channels last); pointers are byte offsets. The per-channel sums
;; are float64 in the order and arithmetic of the JS cores in batch-norm.ts (bit-identical
;; statistics and parameter gradients); elementwise outputs are float32 arithmetic (the JS
;; cores compute them in float64 and round once). Channels past the last multiple of 4 take
;; scalar code. `tmp` is caller-allocated scratch on the same memory (sizes below). The shuffle
;; `8 9 .. 15 8 9 .. 15` moves the upper two f32 lanes down for f64x2.promote_low_f32x4; it is
;; written out rather than called because V8 did not inline the call (2x slower sums).
(module
  (import "env" "memory" (memory 0 65536 shared))

  ;; y = (x - s) * a + b per channel (s, a, b: f32[c]). Subtracting the mean before scaling
  ;; keeps float32 accurate when |mean| >> std (x * a + b' would cancel).
  (func $shiftedAffine
    (param $x i32) (param $m i32) (param $c i32) (param $s i32) (param $a i32) (param $b i32) (param $y i32)
    (local $rowBytes i32) (local $vecBytes i32) (local $k i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $rowBytes) (i32.const -16)))
    (block $done
      (loop $rows
        (br_if $done (i32.eqz (local.get $m)))
        (local.set $k (i32.const 0))
        (block $vEnd
          (loop $v
            (br_if $vEnd (i32.ge_u (local.get $k) (local.get $vecBytes)))
            (v128.store (i32.add (local.get $y) (local.get $k))
              (f32x4.add
                (f32x4.mul
                  (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (v128.load (i32.add (local.get $s) (local.get $k))))
                  (v128.load (i32.add (local.get $a) (local.get $k))))
                (v128.load (i32.add (local.get $b) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $v)))
        (block $sEnd
          (loop $sl
            (br_if $sEnd (i32.ge_u (local.get $k) (local.get $rowBytes)))
            (f32.store (i32.add (local.get $y) (local.get $k))
              (f32.add
                (f32.mul
                  (f32.sub (f32.load (i32.add (local.get $x) (local.get $k))) (f32.load (i32.add (local.get $s) (local.get $k))))
                  (f32.load (i32.add (local.get $a) (local.get $k))))
                (f32.load (i32.add (local.get $b) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $sl)))
        (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
        (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br $rows))))

  ;; y = x * a + b per channel (eval-mode BatchNorm). tmp: 4c bytes (zeros for the shift).
  (func (export "affine")
    (param $x i32) (param $m i32) (param $c i32) (param $a i32) (param $b i32) (param $y i32) (param $tmp i32)
    (memory.fill (local.get $tmp) (i32.const 0) (i32.shl (local.get $c) (i32.const 2)))
    (call $shiftedAffine (local.get $x) (local.get $m) (local.get $c) (local.get $tmp) (local.get $a) (local.get $b) (local.get $y)))

  ;; Training-mode forward: stats = [mean, invStd] (f32[2c]), y normalised with scale and offset.
  ;; tmp: 20c bytes (s1, s2: f64[c]; then a = scale * invStd: f32[c]).
  (func (export "forward")
    (param $x i32) (param $m i32) (param $c i32) (param $scale i32) (param $offset i32) (param $eps f64)
    (param $y i32) (param $stats i32) (param $tmp i32)
    (local $rowBytes i32) (local $vecBytes i32) (local $s2 i32) (local $p i32) (local $i i32) (local $k i32) (local $q i32)
    (local $v v128) (local $sh v128) (local $lo v128) (local $hi v128)
    (local $d f64) (local $dm f64) (local $n f64) (local $inv f32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $rowBytes) (i32.const -16)))
    (local.set $s2 (i32.add (local.get $tmp) (i32.shl (local.get $c) (i32.const 3))))
    (memory.fill (local.get $tmp) (i32.const 0) (i32.shl (local.get $c) (i32.const 4)))
    ;; Sums of d = x - x[0] and d^2 per channel, shifted by the first row so that the variance
    ;; does not cancel when |mean| >> std.
    (local.set $p (local.get $x))
    (local.set $i (local.get $m))
    (block $done
      (loop $rows
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $k (i32.const 0))
        (block $vEnd
          (loop $vl
            (br_if $vEnd (i32.ge_u (local.get $k) (local.get $vecBytes)))
            (local.set $v (v128.load (i32.add (local.get $p) (local.get $k))))
            (local.set $sh (v128.load (i32.add (local.get $x) (local.get $k))))
            (local.set $lo (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (f64x2.promote_low_f32x4 (local.get $sh))))
            (local.set $hi (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $sh) (local.get $sh)))))
            (local.set $q (i32.add (local.get $tmp) (i32.shl (local.get $k) (i32.const 1))))
            (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (local.get $lo)))
            (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q)) (local.get $hi)))
            (local.set $q (i32.add (local.get $s2) (i32.shl (local.get $k) (i32.const 1))))
            (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (f64x2.mul (local.get $lo) (local.get $lo))))
            (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q)) (f64x2.mul (local.get $hi) (local.get $hi))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $vl)))
        (block $sEnd
          (loop $sl
            (br_if $sEnd (i32.ge_u (local.get $k) (local.get $rowBytes)))
            (local.set $d (f64.sub
              (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $k))))
              (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $k))))))
            (local.set $q (i32.add (local.get $tmp) (i32.shl (local.get $k) (i32.const 1))))
            (f64.store (local.get $q) (f64.add (f64.load (local.get $q)) (local.get $d)))
            (local.set $q (i32.add (local.get $s2) (i32.shl (local.get $k) (i32.const 1))))
            (f64.store (local.get $q) (f64.add (f64.load (local.get $q)) (f64.mul (local.get $d) (local.get $d))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $sl)))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $rows)))
    ;; Per channel: mean, invStd = 1/sqrt(var + eps) and a = scale * invStd (at tmp + 16c).
    (local.set $n (f64.convert_i32_u (local.get $m)))
    (local.set $k (i32.const 0))
    (block $cEnd
      (loop $cl
        (br_if $cEnd (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (local.set $q (i32.add (local.get $tmp) (i32.shl (local.get $k) (i32.const 1))))
        (local.set $dm (f64.div (f64.load (local.get $q)) (local.get $n)))
        (f32.store (i32.add (local.get $stats) (local.get $k))
          (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $k)))) (local.get $dm))))
        (local.set $inv (f32.demote_f64 (f64.div (f64.const 1) (f64.sqrt (f64.add
          (f64.div
            (f64.max (f64.const 0) (f64.sub (f64.load (i32.add (local.get $s2) (i32.shl (local.get $k) (i32.const 1))))
                                            (f64.mul (f64.load (local.get $q)) (local.get $dm))))
            (local.get $n))
          (local.get $eps))))))
        (f32.store (i32.add (i32.add (local.get $stats) (local.get $rowBytes)) (local.get $k)) (local.get $inv))
        (f32.store (i32.add (i32.add (local.get $s2) (i32.shl (local.get $rowBytes) (i32.const 1))) (local.get $k))
          (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $scale) (local.get $k)))) (f64.promote_f32 (local.get $inv)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $cl)))
    (call $shiftedAffine (local.get $x) (local.get $m) (local.get $c) (local.get $stats)
      (i32.add (local.get $s2) (i32.shl (local.get $rowBytes) (i32.const 1))) (local.get $offset) (local.get $y)))

  ;; grads = [dScale, dOffset] (f32[2c]): sums of dy * (x - mean) * invStd and of dy per channel.
  ;; tmp: 24c bytes (sdy, sdyx, mean: f64[c]).
  (func (export "gradParams")
    (param $dy i32) (param $x i32) (param $m i32) (param $c i32) (param $stats i32) (param $grads i32) (param $tmp i32)
    (local $rowBytes i32) (local $vecBytes i32) (local $sdyx i32) (local $mean i32) (local $k i32) (local $q i32)
    (local $g v128) (local $v v128) (local $glo v128) (local $ghi v128) (local $gs f64)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $rowBytes) (i32.const -16)))
    (local.set $sdyx (i32.add (local.get $tmp) (i32.shl (local.get $c) (i32.const 3))))
    (local.set $mean (i32.add (local.get $sdyx) (i32.shl (local.get $c) (i32.const 3))))
    (memory.fill (local.get $tmp) (i32.const 0) (i32.shl (local.get $c) (i32.const 4)))
    (local.set $k (i32.const 0))
    (block $mEnd
      (loop $ml
        (br_if $mEnd (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (f64.store (i32.add (local.get $mean) (i32.shl (local.get $k) (i32.const 1)))
          (f64.promote_f32 (f32.load (i32.add (local.get $stats) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $ml)))
    (block $done
      (loop $rows
        (br_if $done (i32.eqz (local.get $m)))
        (local.set $k (i32.const 0))
        (block $vEnd
          (loop $vl
            (br_if $vEnd (i32.ge_u (local.get $k) (local.get $vecBytes)))
            (local.set $g (v128.load (i32.add (local.get $dy) (local.get $k))))
            (local.set $v (v128.load (i32.add (local.get $x) (local.get $k))))
            (local.set $glo (f64x2.promote_low_f32x4 (local.get $g)))
            (local.set $ghi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $g) (local.get $g))))
            (local.set $q (i32.add (local.get $tmp) (i32.shl (local.get $k) (i32.const 1))))
            (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (local.get $glo)))
            (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q)) (local.get $ghi)))
            (local.set $q (i32.add (local.get $sdyx) (i32.shl (local.get $k) (i32.const 1))))
            (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q))
              (f64x2.mul (local.get $glo) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v))
                (v128.load (i32.add (local.get $mean) (i32.shl (local.get $k) (i32.const 1))))))))
            (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q))
              (f64x2.mul (local.get $ghi) (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
                (v128.load offset=16 (i32.add (local.get $mean) (i32.shl (local.get $k) (i32.const 1))))))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $vl)))
        (block $sEnd
          (loop $sl
            (br_if $sEnd (i32.ge_u (local.get $k) (local.get $rowBytes)))
            (local.set $gs (f64.promote_f32 (f32.load (i32.add (local.get $dy) (local.get $k)))))
            (local.set $q (i32.add (local.get $tmp) (i32.shl (local.get $k) (i32.const 1))))
            (f64.store (local.get $q) (f64.add (f64.load (local.get $q)) (local.get $gs)))
            (local.set $q (i32.add (local.get $sdyx) (i32.shl (local.get $k) (i32.const 1))))
            (f64.store (local.get $q) (f64.add (f64.load (local.get $q))
              (f64.mul (local.get $gs) (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $k))))
                (f64.load (i32.add (local.get $mean) (i32.shl (local.get $k) (i32.const 1))))))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $sl)))
        (local.set $dy (i32.add (local.get $dy) (local.get $rowBytes)))
        (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br $rows)))
    (local.set $k (i32.const 0))
    (block $cEnd
      (loop $cl
        (br_if $cEnd (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (f32.store (i32.add (i32.add (local.get $grads) (local.get $rowBytes)) (local.get $k))
          (f32.demote_f64 (f64.load (i32.add (local.get $tmp) (i32.shl (local.get $k) (i32.const 1))))))
        (f32.store (i32.add (local.get $grads) (local.get $k))
          (f32.demote_f64 (f64.mul
            (f64.load (i32.add (local.get $sdyx) (i32.shl (local.get $k) (i32.const 1))))
            (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $stats) (local.get $rowBytes)) (local.get $k)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $cl))))

;; dx = scale * invStd * (dy - dOffset / m - x_hat * dScale / m), as dx = dy * p + (x - mean) * q + r
  ;; (the JS core folds -q * mean into r in float64; in float32 that would cancel for large means).
  ;; tmp: 12c bytes (p, q, r: f32[c]).
  (func (export "gradInput")
    (param $dy i32) (param $x i32) (param $m i32) (param $c i32) (param $stats i32) (param $scale i32) (param $grads i32)
    (param $dx i32) (param $tmp i32)
    (local $rowBytes i32) (local $vecBytes i32) (local $k i32) (local $pk i32) (local $qk i32) (local $rk i32)
    (local $n f64) (local $gs f64) (local $inv f64)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $rowBytes) (i32.const -16)))
    (local.set $n (f64.convert_i32_u (local.get $m)))
    (local.set $pk (local.get $tmp))
    (local.set $qk (i32.add (local.get $tmp) (local.get $rowBytes)))
    (local.set $rk (i32.add (local.get $qk) (local.get $rowBytes)))
    (local.set $k (i32.const 0))
    (block $cEnd
      (loop $cl
        (br_if $cEnd (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (local.set $inv (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $stats) (local.get $rowBytes)) (local.get $k)))))
        (local.set $gs (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $scale) (local.get $k)))) (local.get $inv)))
        (f32.store (i32.add (local.get $pk) (local.get $k)) (f32.demote_f64 (local.get $gs)))
        (f32.store (i32.add (local.get $qk) (local.get $k)) (f32.demote_f64 (f64.div
          (f64.mul (f64.mul (f64.neg (local.get $gs)) (local.get $inv)) (f64.promote_f32 (f32.load (i32.add (local.get $grads) (local.get $k)))))
          (local.get $n))))
        (f32.store (i32.add (local.get $rk) (local.get $k)) (f32.demote_f64 (f64.div
          (f64.mul (f64.neg (local.get $gs)) (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $grads) (local.get $rowBytes)) (local.get $k)))))
          (local.get $n))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $cl)))
    (block $done
      (loop $rows
        (br_if $done (i32.eqz (local.get $m)))
        (local.set $k (i32.const 0))
        (block $vEnd
          (loop $vl
            (br_if $vEnd (i32.ge_u (local.get $k) (local.get $vecBytes)))
            (v128.store (i32.add (local.get $dx) (local.get $k))
              (f32x4.add
                (f32x4.add
                  (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $k))) (v128.load (i32.add (local.get $pk) (local.get $k))))
                  (f32x4.mul
                    (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (v128.load (i32.add (local.get $stats) (local.get $k))))
                    (v128.load (i32.add (local.get $qk) (local.get $k)))))
                (v128.load (i32.add (local.get $rk) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $vl)))
        (block $sEnd
          (loop $sl
            (br_if $sEnd (i32.ge_u (local.get $k) (local.get $rowBytes)))
            (f32.store (i32.add (local.get $dx) (local.get $k))
              (f32.add
                (f32.add
                  (f32.mul (f32.load (i32.add (local.get $dy) (local.get $k))) (f32.load (i32.add (local.get $pk) (local.get $k))))
                  (f32.mul
                    (f32.sub (f32.load (i32.add (local.get $x) (local.get $k))) (f32.load (i32.add (local.get $stats) (local.get $k))))
                    (f32.load (i32.add (local.get $qk) (local.get $k)))))
                (f32.load (i32.add (local.get $rk) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $sl)))
        (local.set $dy (i32.add (local.get $dy) (local.get $rowBytes)))
        (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
        (local.set $dx (i32.add (local.get $dx) (local.get $rowBytes)))
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br $rows)))))
