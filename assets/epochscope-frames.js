/* EpochScope's frame transport, pure parts: decoding the server's typed arrays, which epochs to fetch ahead of
 * need, and a byte-bounded cache of decoded frames. Loaded by the page before epochscope.js (window.EpochScopeFrames)
 * and by node's test runner (module.exports): tests/js/frames.test.js.
 *
 * The contract (dashboard/service.py sequence_payload and frame_arrays, dashboard/typed.py):
 *   a typed array is {dtype: "u1" | "u2" | "i4" | "f4", bdata: base64 of little-endian bytes}, and a quantised one
 *   adds {lo, step}: value = lo + step * code.
 */
(function (root, factory) {
  "use strict";
  const api = factory();
  if (typeof module === "object" && module.exports) { module.exports = api; } else { root.EpochScopeFrames = api; }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";
  const TYPES = {u1: Uint8Array, u2: Uint16Array, i4: Int32Array, f4: Float32Array};

  function decode(array) {
    // a typed array from the server as a JavaScript typed array (quantised ones as Float32Array values)
    const Type = TYPES[array && array.dtype];
    if (!Type || typeof array.bdata !== "string") { throw new Error("not a typed array: " + JSON.stringify(array).slice(0, 80)); }
    const text = atob(array.bdata), bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    const codes = new Type(bytes.buffer);
    if (array.step === undefined) { return codes; }
    const values = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) { values[i] = array.lo + array.step * codes[i]; }
    return values;
  }

  function prefetchOrder(ready, focus, nNodes, have) {
    // the ready epochs to fetch, nearest to `focus` first, ahead (the way a scrub or Play goes) before behind:
    // every ready epoch while the sequence is small (ALL_NODES node-frames), else a window of AHEAD epochs after
    // `focus` and BEHIND before it; `have(epoch)` says which the page holds or is fetching already
    const all = ready.length * nNodes <= ALL_NODES;
    const wanted = ready.filter(e => all || (e >= focus - BEHIND && e <= focus + AHEAD));
    const distance = e => (e >= focus ? 2 * (e - focus) : 2 * (focus - e) + 1);
    return wanted.filter(e => !have(e)).sort((a, b) => distance(a) - distance(b));
  }
  const ALL_NODES = 400000, AHEAD = 4, BEHIND = 2;

  function unionBox(frames, around, reach) {
    // one box over the ready frames' extents ([x0, x1, y0, y1] each), padded. With `around`, over the epochs
    // within `reach` of it only: the map fills its panel with the epoch on show, and as a few epochs' union its
    // scale changes slowly from epoch to epoch, so that motion still reads (a late epoch no longer shrinks into
    // a corner of the union of every epoch)
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    const near = around === undefined || around === null ? null : Number(around);
    for (const [e, f] of Object.entries(frames || {})) {
      if (!Array.isArray(f.box)) { continue; }
      if (near !== null && Math.abs(Number(e) - near) > reach) { continue; }
      x0 = Math.min(x0, f.box[0]); x1 = Math.max(x1, f.box[1]); y0 = Math.min(y0, f.box[2]); y1 = Math.max(y1, f.box[3]);
    }
    if (!(x1 >= x0 && y1 >= y0)) { return near === null ? [[-1, 1], [-1, 1]] : unionBox(frames); }
    const pad = 0.04 * Math.max(x1 - x0, y1 - y0) + 1e-6;
    return [[x0 - pad, x1 + pad], [y0 - pad, y1 + pad]];
  }

  class FrameCache {
    // decoded frames by URL, least recently used dropped first once they take more than `budget` bytes
    constructor(budget) { this.budget = budget; this.bytes = 0; this.entries = new Map(); }
    get(url) {
      const entry = this.entries.get(url);
      if (entry === undefined) { return undefined; }
      this.entries.delete(url); this.entries.set(url, entry);  // most recently used last
      return entry.frame;
    }
    has(url) { return this.entries.has(url); }
    put(url, frame) {
      const size = Object.values(frame).reduce((sum, a) => sum + (a && a.byteLength ? a.byteLength : 0), 0);
      if (this.entries.has(url)) { this.bytes -= this.entries.get(url).size; this.entries.delete(url); }
      this.entries.set(url, {frame: frame, size: size});
      this.bytes += size;
      for (const [key, entry] of this.entries) {
        if (this.bytes <= this.budget || key === url) { break; }
        this.entries.delete(key); this.bytes -= entry.size;
      }
    }
  }

  function decodeFrame(body) {
    // a frame from GET /frames/...: positions and per-sample fields as typed arrays (conf as a share, 0..1)
    const frame = {x: decode(body.x), y: decode(body.y)};
    if (body.pred) { frame.pred = decode(body.pred); }
    if (body.conf) { frame.conf = Float32Array.from(decode(body.conf), v => v / 255); }
    if (body.sens) { frame.sens = decode(body.sens); }
    if (body.aside) { frame.aside = decode(body.aside); }
    return frame;
  }

  function procrustes(ax, ay, bx, by) {
    // B's points (bx, by) moved onto A's (ax, ay), the same samples in the same order, by the similarity
    // transform (rotation or reflection, uniform scale, shift) of least squared distance: two runs' maps of the
    // same samples then put each sample in comparable places. Returns {x, y} (Float64Array) and `residual`, the
    // RMS distance left, relative to A's RMS radius.
    const n = Math.min(ax.length, bx.length);
    let max = 0, may = 0, mbx = 0, mby = 0;
    for (let i = 0; i < n; i++) { max += ax[i]; may += ay[i]; mbx += bx[i]; mby += by[i]; }
    max /= n; may /= n; mbx /= n; mby /= n;
    let sxx = 0, sxy = 0, syx = 0, syy = 0, bb = 0, aa = 0;
    for (let i = 0; i < n; i++) {
      const px = bx[i] - mbx, py = by[i] - mby, qx = ax[i] - max, qy = ay[i] - may;
      sxx += px * qx; sxy += px * qy; syx += py * qx; syy += py * qy; bb += px * px + py * py; aa += qx * qx + qy * qy;
    }
    // rotation: maximise trace(R' H); reflection (x -> -x first): the same with H's first row negated
    const rotation = {flip: 1, angle: Math.atan2(sxy - syx, sxx + syy), gain: Math.hypot(sxx + syy, sxy - syx)};
    const mirrored = {flip: -1, angle: Math.atan2(-sxy - syx, -sxx + syy), gain: Math.hypot(-sxx + syy, -sxy - syx)};
    const best = mirrored.gain > rotation.gain ? mirrored : rotation;
    const scale = bb > 0 ? best.gain / bb : 1, c = Math.cos(best.angle), s = Math.sin(best.angle);
    const x = new Float64Array(bx.length), y = new Float64Array(bx.length);
    let err = 0;
    for (let i = 0; i < bx.length; i++) {
      const px = best.flip * (bx[i] - mbx), py = by[i] - mby;
      x[i] = max + scale * (c * px - s * py);
      y[i] = may + scale * (s * px + c * py);
      if (i < n) { err += (x[i] - ax[i]) ** 2 + (y[i] - ay[i]) ** 2; }
    }
    return {x: x, y: y, residual: aa > 0 ? Math.sqrt(err / aa) : 0};
  }

  return {decode: decode, decodeFrame: decodeFrame, prefetchOrder: prefetchOrder, unionBox: unionBox,
          FrameCache: FrameCache, procrustes: procrustes, ALL_NODES: ALL_NODES, AHEAD: AHEAD, BEHIND: BEHIND};
});
