// The frame transport's pure parts (assets/epochscope-frames.js), under node's own test runner:
//   node --test tests/js/*.test.js
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const F = require("../../assets/epochscope-frames.js");

function typed(dtype, values) {
  // what dashboard/typed.py sends: little-endian bytes, base64
  const Type = {u1: Uint8Array, u2: Uint16Array, i4: Int32Array, f4: Float32Array}[dtype];
  return {dtype: dtype, bdata: Buffer.from(new Type(values).buffer).toString("base64")};
}

test("typed arrays decode to the values the server encoded", () => {
  assert.deepEqual(Array.from(F.decode(typed("u1", [0, 7, 255]))), [0, 7, 255]);
  assert.deepEqual(Array.from(F.decode(typed("i4", [-5, 123456789]))), [-5, 123456789]);
  assert.deepEqual(Array.from(F.decode(typed("f4", [0.5, -2.25]))), [0.5, -2.25]);
  assert.ok(F.decode(typed("u2", [1, 2])) instanceof Uint16Array);
});

test("quantised positions decode as lo + step * code", () => {
  const q = Object.assign(typed("u2", [0, 65535, 32768]), {lo: -1.5, step: 3 / 65535});
  const x = F.decode(q);
  assert.ok(x instanceof Float32Array);
  assert.ok(Math.abs(x[0] + 1.5) < 1e-6 && Math.abs(x[1] - 1.5) < 1e-6 && Math.abs(x[2] - 0.0000229) < 1e-5);
});

test("a malformed typed array is refused, not read as garbage", () => {
  assert.throws(() => F.decode({dtype: "f8", bdata: ""}), /not a typed array/);
  assert.throws(() => F.decode({dtype: "u1"}), /not a typed array/);
});

test("a frame's confidence arrives in 1/255 and is read as a share", () => {
  const frame = F.decodeFrame({x: typed("f4", [1]), y: typed("f4", [2]), pred: typed("u1", [3]),
                               conf: typed("u1", [255]), sens: typed("f4", [0.25])});
  assert.equal(frame.conf[0], 1);
  assert.equal(frame.pred[0], 3);
  assert.equal(frame.sens[0], 0.25);
});

test("a small sequence is fetched whole, nearest epochs first, ahead before behind", () => {
  const ready = [0, 1, 2, 3, 4, 5, 6];
  assert.deepEqual(F.prefetchOrder(ready, 3, 1000, () => false), [3, 4, 2, 5, 1, 6, 0]);
  assert.deepEqual(F.prefetchOrder(ready, 3, 1000, e => e !== 6), [6]);
});

test("a large sequence is fetched in a window around the epoch on show", () => {
  const ready = Array.from({length: 31}, (_, e) => e);
  const order = F.prefetchOrder(ready, 10, 50000, () => false);
  assert.deepEqual(order, [10, 11, 9, 12, 8, 13, 14]);
  assert.equal(Math.max(...order), 10 + F.AHEAD);
  assert.equal(Math.min(...order), 10 - F.BEHIND);
  // only ready epochs: a live run's newest epochs are not asked for before they are laid out
  assert.deepEqual(F.prefetchOrder([0, 1, 2], 2, 50000, () => false), [2, 1, 0]);
});

test("the map's box covers every frame, padded, and has a default without frames", () => {
  const [x, y] = F.unionBox({0: {box: [-1, 1, -2, 0]}, 1: {box: [0, 3, -1, 2]}});
  assert.ok(x[0] < -1 && x[1] > 3 && y[0] < -2 && y[1] > 2);
  assert.deepEqual(F.unionBox({}), [[-1, 1], [-1, 1]]);
  // around an epoch: the frames within reach only (a late, larger frame does not shrink an early one)
  const frames = {0: {box: [-1, 1, -1, 1]}, 1: {box: [-1, 1, -1, 1]}, 9: {box: [-20, 20, -20, 20]}};
  const [nx] = F.unionBox(frames, 0, 2);
  assert.ok(nx[0] > -1.2 && nx[1] < 1.2);
  const [fx] = F.unionBox(frames, 9, 2);
  assert.ok(fx[0] < -20 && fx[1] > 20);
  assert.deepEqual(F.unionBox(frames, 5, 1), F.unionBox(frames));  // none within reach: every frame's
});

test("the frame cache keeps the most recently used frames within its byte budget", () => {
  const cache = new F.FrameCache(300);
  const frame = () => ({x: new Float32Array(25), y: new Float32Array(25)});  // 200 bytes
  cache.put("a", frame());
  cache.put("b", frame());  // 400 bytes: "a" goes
  assert.ok(!cache.has("a") && cache.has("b") && cache.bytes === 200);
  const big = {x: new Float32Array(1000)};
  cache.put("c", big);  // larger than the budget alone: kept (the map needs it), the others go
  assert.equal(cache.get("c"), big);
  assert.ok(!cache.has("b"));
  cache.put("d", frame());
  assert.ok(cache.has("d") && !cache.has("c"));
  assert.equal(cache.get("missing"), undefined);
});

test("procrustes puts a rotated, scaled, shifted or mirrored copy back on its original", () => {
  const n = 200, ax = new Float64Array(n), ay = new Float64Array(n);
  for (let i = 0; i < n; i++) { ax[i] = Math.cos(i) * (1 + i % 7); ay[i] = Math.sin(3 * i) + 0.1 * i; }
  const move = (flip, angle, scale, dx, dy) => {
    const c = Math.cos(angle), s = Math.sin(angle), bx = new Float64Array(n), by = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = flip * ax[i];
      bx[i] = scale * (c * x - s * ay[i]) + dx; by[i] = scale * (s * x + c * ay[i]) + dy;
    }
    return [bx, by];
  };
  for (const [flip, angle, scale] of [[1, 0.7, 2.5], [-1, -2.0, 0.3], [1, Math.PI, 1]]) {
    const [bx, by] = move(flip, angle, scale, 4, -9);
    const fit = F.procrustes(ax, ay, bx, by);
    assert.ok(fit.residual < 1e-9, `flip ${flip} angle ${angle}: residual ${fit.residual}`);
    for (let i = 0; i < n; i += 37) { assert.ok(Math.abs(fit.x[i] - ax[i]) < 1e-9 && Math.abs(fit.y[i] - ay[i]) < 1e-9); }
  }
  // an unrelated layout stays far from it: the residual says how different the two maps are
  const noise = Array.from({length: n}, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
  assert.ok(F.procrustes(ax, ay, noise, noise.slice().reverse()).residual > 0.5);
});
