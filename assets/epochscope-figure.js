/* EpochScope's map figures, pure parts: a layer's sequence payload and one epoch's decoded arrays in, Plotly
 * figure JSON out. No DOM, no fetches, no Plotly calls: loaded by the page before epochscope.js
 * (window.EpochScopeFigure) and by node's test runner (module.exports): tests/js/figure.test.js.
 *
 * The messages it reads are described in dashboard/payload-schema.json (checked against the server's real payloads
 * by tests/test_schema.py): the sequence payload carries the colours (`style`) and the order of a point's
 * customdata fields (`customdata`), which are written in dashboard/vocab.py only.
 *
 * "samples" below are a run's decoded per-sample arrays (GET /samples/<run>): {labels, index, scrambled, box};
 * a "frame" is one epoch's decoded arrays (GET /frames/...): {x, y, pred?, conf?, sens?}.
 */
(function (root, factory) {
  "use strict";
  const api = factory();
  if (typeof module === "object" && module.exports) { module.exports = api; } else { root.EpochScopeFigure = api; }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";
  const AXIS = {visible: false, showgrid: false, zeroline: false};

  function plotText(text) {
    // text from a user's data as Plotly shows it: Plotly reads a few HTML tags in labels, so markup is escaped
    // and shown as written (dashboard/figures.py plot_text)
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function message(text) {
    // an empty figure that says `text`
    return {data: [], layout: {template: "plotly_white", xaxis: AXIS, yaxis: AXIS,
      margin: {l: 10, r: 10, t: 40, b: 10},
      annotations: [{text: text, showarrow: false, font: {size: 15, color: "#555"}, xref: "paper", yref: "paper",
                     x: 0.5, y: 0.5}]}};
  }

  function classColour(style, k) {
    return style.class_colours[k % style.class_colours.length];
  }

  // What the map's samples can be coloured by (dashboard/vocab.py COLOUR_MODES names them in the page): each mode
  // splits the samples into traces by `key` (a sample's group), named by `name` and drawn in `colour`, or, with
  // `scale`, one trace on a colour scale of the array `scale` names. `needs`: the frame array the mode reads (a
  // frame without it is coloured by class). `steady`: a sample stays in its trace from epoch to epoch, so an
  // epoch step moves the drawn traces in place (epochscope.js stepInPlace). The map, the compared map and the
  // HTML animation all draw through this registry: a new mode is one entry here (and its label in vocab.py).
  const COLOUR_MODES = {
    class: {steady: true, key: (c, i) => c.S.labels[i], name: (c, k) => c.className(k), colour: (c, k) => c.classColour(k)},
    predicted: {steady: false, needs: "pred", key: (c, i) => c.frame.pred[i], name: (c, k) => "predicted " + c.className(k),
                colour: (c, k) => c.classColour(k)},
    correct: {steady: false, needs: "pred", key: (c, i) => (c.frame.pred[i] === c.S.labels[i] ? 0 : 1),
              name: (c, k) => (k ? "wrong" : "correct"), colour: (c, k) => (k ? c.style.wrong : c.style.correct)},
    sensitivity: {steady: true, needs: "sens", scale: "sens", scaleTitle: "‖∂loss/∂a‖", name: () => "sensitivity"},
    scrambled: {steady: true, key: (c, i) => c.S.scrambled[i], name: (c, k) => (k ? "scrambled" : "clean"),
                colour: (c, k) => (k ? c.style.scrambled : c.style.clean)},
    learned: {steady: true, sampleNeeds: "learned", key: (c, i) => learnedBin(c.S.learned[i]), name: (c, k) => LEARNED_BINS[k],
              colour: (c, k) => LEARNED_COLOURS[k]},
  };

  // when a sample was learned (the epoch from which it stays correct; NaN: not by the last epoch), in bins that
  // double in width, so that the first epochs, where most is learned, stay apart; Viridis from early to late
  const LEARNED_BINS = ["learned at 0", "learned at 1", "learned at 2-3", "learned at 4-7", "learned at 8-15",
                        "learned at 16-31", "learned at 32-63", "learned at 64+", "not learned"];
  const LEARNED_COLOURS = ["#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725",
                           "#BBBBBB"];

  function learnedBin(epoch) {
    if (!Number.isFinite(epoch)) { return LEARNED_BINS.length - 1; }
    return epoch < 1 ? 0 : Math.min(LEARNED_BINS.length - 2, Math.floor(Math.log2(epoch)) + 1);
  }

  function colourMode(colour, frame, S) {
    // the registry entry the map draws `colour` with: the mode itself, or class when the frame (or the samples)
    // lack what it reads
    const mode = COLOUR_MODES[colour];
    return mode && (!mode.needs || frame[mode.needs]) && (!mode.sampleNeeds || (S && S[mode.sampleNeeds])) ?
      mode : COLOUR_MODES.class;
  }

  function groups(payload, frame, S, colour) {
    // the samples split into the map's traces by `colour` (COLOUR_MODES): [{name, colour, members}] in key order;
    // colour null: one trace on the colour scale of the values `scale` (per node; titled `scaleTitle`), no legend
    const n = payload.n_samples, style = payload.style, mode = colourMode(colour, frame, S);
    const c = {S: S, frame: frame, style: style, className: k => plotText(payload.class_names[k] || String(k)),
               classColour: k => classColour(style, k)};
    if (mode.scale) {
      return [{name: mode.name(c), colour: null, scale: frame[mode.scale], scaleTitle: mode.scaleTitle,
               members: [...Array(n).keys()]}];
    }
    const out = new Map();
    for (let i = 0; i < n; i++) {
      const k = mode.key(c, i);
      if (!out.has(k)) { out.set(k, {name: mode.name(c, k), colour: mode.colour(c, k), members: []}); }
      out.get(k).members.push(i);
    }
    return [...out.entries()].sort((a, b) => a[0] - b[0]).map(e => e[1]);
  }

  function sampleHover(payload, S, frame, members) {
    // customdata (what a click or hover reads, in the payload's `customdata` order) and the hover text of a trace
    // of samples; the same in both maps
    const fields = payload.customdata, at = name => fields.indexOf(name);
    const sens = frame.sens;
    const value = {sample: i => S.index[i], label: i => S.labels[i], predicted: i => (frame.pred ? frame.pred[i] : -1),
                   confidence: i => (frame.conf ? frame.conf[i] : NaN), sensitivity: i => (sens ? sens[i] : NaN),
                   node: i => i};
    const f = name => "%{customdata[" + at(name) + "]";
    return {customdata: members.map(i => fields.map(name => value[name](i))),
            hovertemplate: "sample " + f("sample") + ":d}<br>true " + f("label") + ":d}" +
              (frame.pred ? "<br>predicted " + f("predicted") + ":d} (" + f("confidence") + ":.0%})" : "") +
              (sens ? "<br>sensitivity " + f("sensitivity") + ":.3g}" : "") + "<extra></extra>"};
  }

  function neuronTraces(payload, nodes, xs, ys, aside) {
    // the layer's neurons of a neuron x sample frame, after the samples: black diamonds, and the dead units (no
    // edge: set aside on a row below the graph) as open grey ones with a legend entry saying so; customdata as a
    // sample's, with sample -1 and node = the unit's index. [{nodes, trace}], the dead units' only when there are
    const fields = payload.customdata, n = payload.n_samples;
    const dead = new Set(aside ? Array.from(aside) : []);
    const units = [...Array(nodes - n).keys()].map(k => n + k);
    const row = i => fields.map(name => (name === "node" ? i - n : (name === "sample" || name === "label" ||
                                                                   name === "predicted") ? -1 : NaN));
    const trace = (members, name, marker, extra) => ({
      nodes: members,
      trace: Object.assign({type: "scattergl", mode: "markers", name: name, meta: "neurons", x: members.map(i => xs[i]),
                            y: members.map(i => ys[i]), customdata: members.map(row), marker: marker,
                            hovertemplate: "neuron %{customdata[" + fields.indexOf("node") + "]:d}" + extra +
                              "<extra></extra>"}, name === "neurons" ? {showlegend: false} : {})});
    const live = units.filter(i => !dead.has(i)), gone = units.filter(i => dead.has(i));
    const out = [trace(live, "neurons", {size: 7, color: payload.style.neuron, symbol: "diamond"}, "")];
    if (gone.length) {
      out.push(trace(gone, "dead units (" + gone.length + "), set aside below",
                     {size: 7, color: payload.style.dead, symbol: "diamond-open"},
                     "<br>dead: the same activation on every sample"));
    }
    return out;
  }

  function selectedTrace(style, x, y) {
    // the ring around the selected sample
    return {type: "scattergl", mode: "markers", name: "selected", x: [x], y: [y], showlegend: false,
            hoverinfo: "skip", marker: {size: 18, color: "rgba(0,0,0,0)", line: {width: 2.5, color: style.selected}}};
  }

  function ringTrace(style, xs, ys, label) {
    // rings around the samples whose neighbourhoods changed most (or a story event's: then named by `label`)
    return {type: "scattergl", mode: "markers", name: label || "changed most", meta: "ring", x: xs, y: ys,
            hoverinfo: "skip",
            marker: {size: 14, color: "rgba(0,0,0,0)", line: {width: 2, color: style.scrambled}}};
  }

  function edgeTrace(edges, frame) {
    // one line trace of all edges ({i, j}: node rows), segments separated by gaps, under the nodes
    const xs = [], ys = [];
    for (let k = 0; k < edges.i.length; k++) {
      const a = edges.i[k], b = edges.j[k];
      xs.push(frame.x[a], frame.x[b], null); ys.push(frame.y[a], frame.y[b], null);
    }
    return {type: "scattergl", mode: "lines", name: "edges", x: xs, y: ys, showlegend: false, hoverinfo: "skip",
            line: {color: "rgba(120,120,120,0.25)", width: 0.6}};
  }

  function caption(payload, epoch) {
    // the line under the map: the layout's silhouette and the epoch's training numbers
    const scalars = payload.frames[String(epoch)], m = scalars.metrics;
    const scores = m.test_acc !== undefined ?
      "train accuracy " + (100 * m.train_acc).toFixed(1) + "% · test accuracy " + (100 * m.test_acc).toFixed(1) + "% · " : "";
    const loss = m.test_loss !== undefined ? "test loss " + m.test_loss.toFixed(3) + " · " : "";
    return payload.name + ", epoch " + epoch + ": class silhouette of the layout " + scalars.silhouette.toFixed(2) +
      " · " + scores + loss + payload.n_samples + " probe samples";
  }

  function when(payload, epoch) {
    // "epoch 5", or "step 1200" for a run recorded by steps
    return payload.steps && payload.steps.length > epoch ? "step " + payload.steps[epoch] : "epoch " + epoch;
  }

  function title(payload, epoch) {
    return payload.name + " · " + when(payload, epoch);
  }

  function logScale(values) {
    // a colour scale for values over orders of magnitude (a sample's sensitivity): their log10, from the 2nd to
    // the 98th percentile, so that a few outliers do not paint every other point one colour; the colour bar
    // is labelled in the values themselves
    const finite = values.filter(v => v > 0 && Number.isFinite(v)).map(Math.log10).sort((a, b) => a - b);
    if (!finite.length) { return {color: values}; }
    const at = q => finite[Math.min(finite.length - 1, Math.max(0, Math.round(q * (finite.length - 1))))];
    let lo = at(0.02), hi = at(0.98);
    if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
    const ticks = [];
    for (let t = Math.ceil(lo * 2) / 2; t <= hi; t += 0.5) { ticks.push(t); }
    return {color: values.map(v => (v > 0 && Number.isFinite(v) ? Math.log10(v) : lo)), cmin: lo, cmax: hi,
            colorbar: {tickvals: ticks, ticktext: ticks.map(t => Number(Math.pow(10, t).toPrecision(2)).toString())}};
  }

  function mapFigure(payload, epoch, frame, S, view) {
    // The map of one epoch. `view`: {colour, flags (array of "edges", "size", "trail", ...), selected (a data-set
    // index or null), edges ({run, layer, epoch, graph, i, j} or null), ringed (node rows), ringLabel (their legend, by
    // default "changed most"), trail ({x, y}: the
    // selected sample's path, or null), x, y (where each node is drawn: the frame's place, or where a glide
    // starts), meta (the layout's meta)}. Returns {figure, parts}: parts are [trace index, node rows] of the
    // traces whose nodes move from epoch to epoch.
    const style = payload.style, flags = view.flags || [], sens = frame.sens, xs = view.x, ys = view.y;
    const nodes = frame.x.length, bySize = flags.includes("size");
    let maxSens = 1e-12;
    if (sens) { for (let i = 0; i < sens.length; i++) { maxSens = Math.max(maxSens, sens[i]); } }
    const size = i => (bySize && sens ? 4 + 12 * Math.sqrt(sens[i] / maxSens) : 6);
    const parts = [], traces = [];
    const edges = view.edges;
    if (flags.includes("edges") && edges && edges.run === payload.run && edges.layer === payload.layer &&
        edges.epoch === epoch && edges.graph === payload.graph) {
      traces.push(edgeTrace(edges, frame));
    }
    const first = traces.length;
    traces.push(...groups(payload, frame, S, view.colour).map(g => {
      const m = g.members;
      // one size for all unless sized by sensitivity: per-point sizes cost scattergl a pass over every point
      const marker = {size: bySize && sens ? m.map(size) : 6, line: {width: 0.4, color: "white"}};
      if (g.colour) {
        marker.color = g.colour;
      } else {
        Object.assign(marker, logScale(m.map(i => g.scale[i])));
        marker.colorscale = "Viridis";
        marker.colorbar = Object.assign({title: {text: g.scaleTitle}, thickness: 12}, marker.colorbar);
      }
      parts.push([first + parts.length, m]);
      return Object.assign({type: "scattergl", mode: "markers", name: g.name, x: m.map(i => xs[i]),
                            y: m.map(i => ys[i]), marker: marker, showlegend: Boolean(g.colour)},
                           sampleHover(payload, S, frame, m));
    }));
    if (payload.graph === "bipartite") {
      for (const neurons of neuronTraces(payload, nodes, xs, ys, frame.aside)) {
        parts.push([traces.length, neurons.nodes]);
        traces.push(neurons.trace);
      }
    }
    const ringed = view.ringed || [];
    if (ringed.length) {
      parts.push([traces.length, ringed]);
      traces.push(ringTrace(style, ringed.map(i => xs[i]), ringed.map(i => ys[i]), view.ringLabel));
    }
    const at = view.selected === null || view.selected === undefined ? -1 : S.index.indexOf(view.selected);
    if (at >= 0 && view.trail) {
      traces.push({type: "scattergl", mode: "lines+markers", name: "trail", x: view.trail.x, y: view.trail.y,
                   showlegend: false, hoverinfo: "skip", line: {color: "rgba(0,0,0,0.55)", width: 1.5},
                   marker: {size: 3, color: style.selected}});
    }
    if (at >= 0) {
      parts.push([traces.length, [at]]);
      traces.push(selectedTrace(style, xs[at], ys[at]));
    }
    const box = view.box || S.box;  // the epoch's own neighbourhood of frames, else the union of all
    const figure = {data: traces, layout: {
      title: {text: title(payload, epoch), x: 0.01, font: {size: 14}}, uirevision: payload.run + "/" + payload.layer,
      template: "plotly_white", margin: {l: 10, r: 10, t: 40, b: 10}, meta: view.meta || {},
      // beside a colour bar the legend (the ringed and selected samples) goes under the map, off the bar's title
      legend: traces.some(t => t.marker && t.marker.colorbar)
        ? {orientation: "h", x: 0, y: 0, yanchor: "bottom", bgcolor: "rgba(255,255,255,0.75)", itemsizing: "constant"}
        : {title: {text: view.colour === "class" ? "class" : ""}, itemsizing: "constant"},
      xaxis: Object.assign({range: box[0]}, AXIS), yaxis: Object.assign({range: box[1], scaleanchor: "x", scaleratio: 1}, AXIS)}};
    return {figure: figure, parts: parts};
  }

  return {AXIS: AXIS, COLOUR_MODES: COLOUR_MODES, colourMode: colourMode, plotText: plotText, message: message,
          classColour: classColour, groups: groups,
          sampleHover: sampleHover, neuronTraces: neuronTraces, selectedTrace: selectedTrace, ringTrace: ringTrace,
          edgeTrace: edgeTrace, caption: caption, title: title, when: when, logScale: logScale,
          mapFigure: mapFigure};
});
