// The map's figures from real server messages (assets/epochscope-figure.js), under node's own test runner:
//   node --test tests/js/*.test.js
// The fixture holds a tiny real run's messages (tests/js/make_fixtures.py; tests/test_schema.py checks that they
// hold to dashboard/payload-schema.json and have today's shape).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const F = require("../../assets/epochscope-frames.js");
const FIG = require("../../assets/epochscope-figure.js");

const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "map.json"), "utf8"));

function load(graph, epoch, change) {
  // the payload (changed by `change`), the samples and one epoch's frame, decoded as the page decodes them
  const payload = JSON.parse(JSON.stringify(FIXTURE[graph].sequence));
  if (change) { change(payload); }
  const body = FIXTURE.samples;
  const S = {labels: F.decode(body.labels), index: F.decode(body.index), scrambled: F.decode(body.scrambled),
             learned: body.learned ? F.decode(body.learned) : null, box: F.unionBox(payload.frames)};
  const frame = F.decodeFrame(FIXTURE[graph].frames[String(epoch)]);
  return {payload, S, frame};
}

function figure(graph, epoch, view, change) {
  const {payload, S, frame} = load(graph, epoch, change);
  const built = FIG.mapFigure(payload, epoch, frame, S, Object.assign({colour: "class", flags: [], selected: null,
    edges: null, ringed: [], trail: null, x: frame.x, y: frame.y}, view));
  return Object.assign(built, {payload, S, frame});
}

const field = (payload, point, name) => point[payload.customdata.indexOf(name)];

test("coloured by class: one trace per class, every sample once, where the frame puts it", () => {
  const {figure: fig, payload, S, frame} = figure("knn", 2, {});
  const samples = fig.data.filter(t => t.customdata);
  const seen = [];
  for (const t of samples) {
    const k = S.labels[field(payload, t.customdata[0], "node")];
    assert.equal(t.name, payload.class_names[k]);
    assert.equal(t.marker.color, payload.style.class_colours[k]);
    t.customdata.forEach((point, j) => {
      const node = field(payload, point, "node");
      assert.equal(S.labels[node], k);
      assert.equal(field(payload, point, "sample"), S.index[node]);
      assert.equal(t.x[j], frame.x[node]);
      assert.equal(t.y[j], frame.y[node]);
      seen.push(node);
    });
  }
  assert.deepEqual(seen.sort((a, b) => a - b), [...Array(payload.n_samples).keys()]);
  assert.equal(fig.layout.title.text, payload.name + " · epoch 2");
  assert.deepEqual(fig.layout.xaxis.range, S.box[0]);
});

test("colours and the customdata order come from the payload, not from the script", () => {
  const order = ["node", "confidence", "sample", "label", "sensitivity", "predicted"];
  const {figure: fig, payload, S} = figure("knn", 1, {}, p => {
    p.style.class_colours = ["#010101", "#020202"];
    p.customdata = order;
  });
  const t = fig.data[0];
  assert.ok(["#010101", "#020202"].includes(t.marker.color));
  const node = t.customdata[0][0];
  assert.equal(t.customdata[0][2], S.index[node]);
  assert.match(t.hovertemplate, /^sample %\{customdata\[2\]:d\}<br>true %\{customdata\[3\]:d\}/);
  assert.equal(payload.customdata, order);
});

test("correct / wrong and scrambled split the samples by the frame's predictions and the run's flags", () => {
  const {figure: fig, payload, S, frame} = figure("knn", 2, {colour: "correct"});
  for (const t of fig.data) {
    const wrong = t.name === "wrong";
    assert.equal(t.marker.color, wrong ? payload.style.wrong : payload.style.correct);
    for (const point of t.customdata) {
      const node = field(payload, point, "node");
      assert.equal(frame.pred[node] !== S.labels[node], wrong);
      assert.equal(field(payload, point, "predicted"), frame.pred[node]);
    }
  }
  const scrambled = figure("knn", 2, {colour: "scrambled"});
  const flagged = scrambled.figure.data.find(t => t.name === "scrambled");
  assert.ok(flagged && flagged.marker.color === payload.style.scrambled);
  assert.equal(flagged.x.length, Array.from(scrambled.S.scrambled).filter(Boolean).length);
});

test("coloured by when learned: samples in bins of the epoch from which they stay correct, the rest grey", () => {
  const {figure: fig, S} = figure("knn", 2, {colour: "learned"});
  assert.ok(S.learned, "a classifier's samples say when each was learned");
  const bin = v => (!Number.isFinite(v) ? "not learned" : v < 1 ? "learned at 0" : v < 2 ? "learned at 1" :
                    "learned at 2-3");
  let count = 0;
  for (const t of fig.data) {
    for (const point of t.customdata) {
      assert.equal(t.name, bin(S.learned[point[FIXTURE.knn.sequence.customdata.indexOf("node")]]));
      count += 1;
    }
    if (t.name === "not learned") { assert.equal(t.marker.color, "#BBBBBB"); }
  }
  assert.equal(count, S.labels.length);
  // a run that does not classify has no learned epochs: its samples are coloured by class
  const vae = figure("knn", 2, {colour: "learned"});
  vae.S.learned = null;
  const again = FIG.mapFigure(vae.payload, 2, vae.frame, vae.S, {colour: "learned", flags: [], selected: null,
    edges: null, ringed: [], trail: null, x: vae.frame.x, y: vae.frame.y});
  assert.ok(again.figure.data.every(t => !t.name.startsWith("learned")));
});

test("coloured by sensitivity: one trace on a colour scale of the frame's gradients, sized by them when asked", () => {
  const {figure: fig, frame} = figure("knn", 1, {colour: "sensitivity", flags: ["size"]});
  assert.equal(fig.data.length, 1);
  const t = fig.data[0];
  assert.equal(t.marker.colorscale, "Viridis");
  // on a log scale: each point's colour is the log10 of its gradient (the hover says the gradient itself)
  assert.deepEqual(t.marker.color, Array.from(frame.sens).map(v => (v > 0 ? Math.log10(v) : t.marker.cmin)));
  const biggest = frame.sens.indexOf(Math.max(...frame.sens));
  assert.equal(Math.max(...t.marker.size), t.marker.size[biggest]);
  assert.equal(t.showlegend, false);
});

test("class names from a user's file are shown as text, not read as markup", () => {
  const {figure: fig} = figure("knn", 0, {}, p => { p.class_names = ["<img src=x onerror=alert(1)>", "<b>y</b>"]; });
  const names = fig.data.map(t => t.name).sort();
  assert.deepEqual(names, ["&lt;b&gt;y&lt;/b&gt;", "&lt;img src=x onerror=alert(1)&gt;"]);
});

test("the neuron x sample graph adds the layer's neurons as black diamonds a click reads as units", () => {
  const {figure: fig, payload, parts, frame} = figure("bipartite", 2, {});
  const units = payload.n_nodes - payload.n_samples;
  const traces = fig.data.filter(t => t.meta === "neurons");
  const [neurons, dead] = traces;
  assert.ok(frame.aside.length > 0 && frame.aside.length < units, "the fixture's layer has dead and live units");
  assert.equal(neurons.name, "neurons");
  assert.equal(neurons.marker.color, payload.style.neuron);
  assert.equal(neurons.x.length + dead.x.length, units);
  // the dead units are shown as such: open grey diamonds, named in the legend as set aside
  assert.equal(dead.marker.symbol, "diamond-open");
  assert.equal(dead.marker.color, payload.style.dead);
  assert.equal(dead.name, "dead units (" + frame.aside.length + "), set aside below");
  const deadUnits = dead.customdata.map(point => field(payload, point, "node"));
  assert.deepEqual(deadUnits, Array.from(frame.aside, i => i - payload.n_samples));
  for (const trace of traces) {
    trace.customdata.forEach(point => assert.equal(field(payload, point, "sample"), -1));
    const part = parts.find(([t]) => fig.data[t] === trace);
    assert.deepEqual(part[1], trace.customdata.map(point => payload.n_samples + field(payload, point, "node")));
  }
  // set aside on a row below the graph
  const lowest = Math.min(...neurons.y, ...fig.data.filter(t => t.meta !== "neurons" && t.customdata).flatMap(t => t.y));
  dead.y.forEach(y => assert.ok(y < lowest, "a dead unit lies below the graph"));
});

test("edges, the changed samples, the selection and its trail are drawn in that order, each in its place", () => {
  const {payload, S, frame} = load("knn", 2);
  const selected = S.index[3];
  const edges = {run: payload.run, layer: payload.layer, epoch: 2, graph: "knn", i: [0, 1], j: [2, 3]};
  const {figure: fig, parts} = figure("knn", 2, {flags: ["edges", "trail"], selected: selected, edges: edges,
                                                 ringed: [5, 7], trail: {x: [0, 1], y: [2, 3]}});
  const names = fig.data.map(t => t.name);
  assert.equal(names[0], "edges");
  assert.deepEqual(names.slice(-3), ["changed most", "trail", "selected"]);
  assert.deepEqual(fig.data[0].x, [frame.x[0], frame.x[2], null, frame.x[1], frame.x[3], null]);
  const ring = fig.data[names.indexOf("changed most")];
  assert.deepEqual(ring.x, [frame.x[5], frame.x[7]]);
  assert.deepEqual(fig.data[names.length - 1].x, [frame.x[3]]);
  assert.equal(fig.data[names.length - 1].marker.line.color, payload.style.selected);
  // every moving trace's part names the nodes it draws
  for (const [t, nodes] of parts) { assert.equal(fig.data[t].x.length, nodes.length); }
  // a story event's samples are ringed under the event's legend, not as "changed most"
  const event = figure("knn", 2, {ringed: [5, 7], ringLabel: "in the event"}).figure;
  assert.deepEqual(event.data.filter(t => t.meta === "ring").map(t => t.name), ["in the event"]);
  // edges of another epoch are not drawn
  const stale = figure("knn", 1, {flags: ["edges"], edges: edges});
  assert.ok(!stale.figure.data.some(t => t.name === "edges"));
});

test("the caption says the layout's silhouette and the epoch's accuracy", () => {
  const {payload} = load("knn", 2);
  const text = FIG.caption(payload, 2);
  const scalars = payload.frames["2"];
  assert.ok(text.startsWith(payload.name + ", epoch 2: class silhouette of the layout " + scalars.silhouette.toFixed(2)));
  assert.ok(text.includes("test accuracy " + (100 * scalars.metrics.test_acc).toFixed(1) + "%"));
  assert.ok(text.endsWith(payload.n_samples + " probe samples"));
});

test("sensitivity is coloured on a log scale clipped to its 2nd..98th percentiles, labelled in values", () => {
  const values = Array.from({length: 100}, (_, i) => 0.001 * Math.pow(1.05, i));
  values[99] = 1e6;  // one outlier
  const scale = FIG.logScale(values);
  assert.ok(scale.cmax < 1 && scale.cmin > -3.1);  // the outlier does not stretch the scale
  assert.equal(scale.color.length, 100);
  assert.ok(scale.colorbar.ticktext.length >= 2);
  const ticks = scale.colorbar.tickvals.map(t => Math.pow(10, t));
  assert.ok(ticks.every((t, i) => Math.abs(Number(scale.colorbar.ticktext[i]) - t) / t < 0.06));
});
