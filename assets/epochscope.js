/* EpochScope's client side: the map of one (layer, epoch) drawn from the layer's sequence, which the server sent
 * once, so scrubbing epochs, recolouring and selecting never wait for the server. */
(function () {
  "use strict";
  // Paul Tol's "muted" palette (colour-blind safe), as dashboard/figures.py CLASS_COLOURS
  const CLASS_COLOURS = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
                         "#DDCC77", "#CC6677", "#882255", "#AA4499", "#777777"];
  const OK = "#44AA99", WRONG = "#CC3311", CLEAN = "#BBBBBB", SCRAMBLED = "#EE7733";
  const AXIS = {visible: false, showgrid: false, zeroline: false};

  function message(text) {
    return {data: [], layout: {template: "plotly_white", xaxis: AXIS, yaxis: AXIS,
      margin: {l: 10, r: 10, t: 40, b: 10},
      annotations: [{text: text, showarrow: false, font: {size: 15, color: "#555"}, xref: "paper", yref: "paper",
                     x: 0.5, y: 0.5}]}};
  }

  function bounds(payload) {
    // one box for the whole sequence: the frame does not rescale from epoch to epoch
    let lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    for (const f of Object.values(payload.frames)) {
      for (let i = 0; i < f.x.length; i++) {
        lo[0] = Math.min(lo[0], f.x[i]); hi[0] = Math.max(hi[0], f.x[i]);
        lo[1] = Math.min(lo[1], f.y[i]); hi[1] = Math.max(hi[1], f.y[i]);
      }
    }
    const pad = 0.04 * Math.max(hi[0] - lo[0], hi[1] - lo[1]) + 1e-6;
    return [[lo[0] - pad, hi[0] + pad], [lo[1] - pad, hi[1] + pad]];
  }

  function groups(payload, frame, colour) {
    const n = payload.n_samples, labels = payload.labels;
    const by = (key, names, colours) => {
      const out = new Map();
      for (let i = 0; i < n; i++) {
        const k = key(i);
        if (!out.has(k)) { out.set(k, {name: names(k), colour: colours(k), members: []}); }
        out.get(k).members.push(i);
      }
      return [...out.entries()].sort((a, b) => a[0] - b[0]).map(e => e[1]);
    };
    const className = k => payload.class_names[k] || String(k);
    const classColour = k => CLASS_COLOURS[k % CLASS_COLOURS.length];
    if (colour === "predicted" && frame.pred) {
      return by(i => frame.pred[i], k => "predicted " + className(k), classColour);
    }
    if (colour === "correct" && frame.pred) {
      return by(i => (frame.pred[i] === labels[i] ? 0 : 1), k => (k ? "wrong" : "correct"), k => (k ? WRONG : OK));
    }
    if (colour === "scrambled") {
      return by(i => payload.scrambled[i], k => (k ? "scrambled" : "clean"), k => (k ? SCRAMBLED : CLEAN));
    }
    if (colour === "sensitivity" && frame.sens) {
      return [{name: "sensitivity", colour: null, members: [...Array(n).keys()]}];
    }
    return by(i => labels[i], className, classColour);
  }

  function edgeTrace(edges, frame) {
    // one line trace of all edges, segments separated by gaps, under the nodes
    const xs = [], ys = [];
    for (let k = 0; k < edges.i.length; k++) {
      const a = edges.i[k], b = edges.j[k];
      xs.push(frame.x[a], frame.x[b], null); ys.push(frame.y[a], frame.y[b], null);
    }
    return {type: "scattergl", mode: "lines", name: "edges", x: xs, y: ys, showlegend: false, hoverinfo: "skip",
            line: {color: "rgba(120,120,120,0.25)", width: 0.6}};
  }

  function render(payload, epoch, colour, flags, selected, edges) {
    const noUpdate = window.dash_clientside.no_update;
    if (!payload) { return [message("Preparing the run…"), ""]; }
    if (payload.error) { return [message(payload.error), ""]; }
    const e = Number(epoch);
    if (!Number.isInteger(e) || e < 0 || e > payload.last_epoch) {
      return [message("epoch must be in 0.." + payload.last_epoch + ", got " + epoch), ""];
    }
    const frame = payload.frames[String(e)];
    if (!frame) { return [message("Laying out " + payload.name + ", epoch " + e + "…"), ""]; }
    const sens = frame.sens, maxSens = sens ? Math.max(...sens, 1e-12) : 1;
    flags = Array.isArray(flags) ? flags : [];
    const bySize = flags.includes("size");
    const size = i => (bySize && sens ? 4 + 12 * Math.sqrt(sens[i] / maxSens) : 6);
    const traces = [];
    if (flags.includes("edges") && edges && edges.run === payload.run && edges.layer === payload.layer &&
        edges.epoch === e && edges.graph === payload.graph) {
      traces.push(edgeTrace(edges, frame));
    }
    traces.push(...groups(payload, frame, colour).map(g => {
      const m = g.members;
      const custom = m.map(i => [payload.index[i], payload.labels[i], frame.pred ? frame.pred[i] : -1,
                                 frame.conf ? frame.conf[i] : NaN, sens ? sens[i] : NaN, i]);
      const marker = {size: m.map(size), line: {width: 0.4, color: "white"}};
      if (g.colour) {
        marker.color = g.colour;
      } else {
        marker.color = m.map(i => sens[i]);
        marker.colorscale = "Viridis";
        marker.colorbar = {title: {text: "‖∂loss/∂a‖"}, thickness: 12};
      }
      return {type: "scattergl", mode: "markers", name: g.name, x: m.map(i => frame.x[i]), y: m.map(i => frame.y[i]),
              customdata: custom, marker: marker, showlegend: Boolean(g.colour),
              hovertemplate: "sample %{customdata[0]:d}<br>true " + "%{customdata[1]:d}" +
                (frame.pred ? "<br>predicted %{customdata[2]:d} (%{customdata[3]:.0%})" : "") +
                (sens ? "<br>sensitivity %{customdata[4]:.3g}" : "") + "<extra></extra>"};
    }));
    if (payload.graph === "bipartite") {
      // the layer's neurons, black, after the samples
      const nx = frame.x.slice(payload.n_samples), ny = frame.y.slice(payload.n_samples);
      traces.push({type: "scattergl", mode: "markers", name: "neurons", x: nx, y: ny,
                   customdata: nx.map((_, k) => [-1, -1, -1, NaN, NaN, k]),
                   marker: {size: 7, color: "#000", symbol: "diamond"},
                   hovertemplate: "neuron %{customdata[5]:d}<extra></extra>"});
    }
    const at = selected === null || selected === undefined ? -1 : payload.index.indexOf(selected);
    if (at >= 0 && flags.includes("trail")) {
      // the selected sample's path over the epochs so far (display frames are aligned epoch to epoch)
      const xs = [], ys = [];
      for (let t = 0; t <= e; t++) {
        const f = payload.frames[String(t)];
        if (f) { xs.push(f.x[at]); ys.push(f.y[at]); }
      }
      traces.push({type: "scattergl", mode: "lines+markers", name: "trail", x: xs, y: ys, showlegend: false,
                   hoverinfo: "skip", line: {color: "rgba(0,0,0,0.55)", width: 1.5}, marker: {size: 3, color: "#000"}});
    }
    if (at >= 0) {
      traces.push({type: "scattergl", mode: "markers", name: "selected", x: [frame.x[at]],
                   y: [frame.y[at]], showlegend: false, hoverinfo: "skip",
                   marker: {size: 18, color: "rgba(0,0,0,0)", line: {width: 2.5, color: "#000"}}});
    }
    const box = payload.box || (payload.box = bounds(payload));
    const figure = {data: traces, layout: {
      title: {text: payload.name + " · epoch " + e, x: 0.01, font: {size: 14}}, uirevision: payload.run + "/" + payload.layer,
      template: "plotly_white", margin: {l: 10, r: 10, t: 40, b: 10},
      legend: {title: {text: colour === "class" ? "class" : ""}, itemsizing: "constant"},
      xaxis: Object.assign({range: box[0]}, AXIS), yaxis: Object.assign({range: box[1], scaleanchor: "x", scaleratio: 1}, AXIS)}};
    const m = frame.metrics;
    const scores = m.test_acc !== undefined ?
      "train accuracy " + (100 * m.train_acc).toFixed(1) + "% · test accuracy " + (100 * m.test_acc).toFixed(1) + "% · " : "";
    const loss = m.test_loss !== undefined ? "test loss " + m.test_loss.toFixed(3) + " · " : "";
    const caption = payload.name + ", epoch " + e + ": class silhouette of the layout " + frame.silhouette.toFixed(2) +
      " · " + scores + loss + payload.labels.length + " probe samples";
    return [figure, caption];
  }

  function urlState(run, layer, epoch, colour, graph, method, selected, search) {
    const params = new URLSearchParams(search || "");
    params.set("run", run); params.set("layer", layer); params.set("epoch", epoch); params.set("colour", colour);
    params.set("graph", graph); params.set("method", method);
    if (selected !== null && selected !== undefined) { params.set("sample", selected); } else { params.delete("sample"); }
    const next = "?" + params.toString();
    return next === search ? window.dash_clientside.no_update : next;
  }

  function downloadImage(pngClicks, svgClicks) {
    // the map as drawn, by Plotly in the browser (WebGL points are rasterised into the SVG)
    const trig = window.dash_clientside.callback_context.triggered.map(t => t.prop_id)[0] || "";
    const gd = document.querySelector("#map .js-plotly-plot");
    if (gd) {
      const svg = trig.startsWith("export-svg");
      window.Plotly.downloadImage(gd, {format: svg ? "svg" : "png", filename: "epochscope-map",
                                       width: 1200, height: 900, scale: svg ? 1 : 2});
    }
    return window.dash_clientside.no_update;
  }

  function playSpeed(speed) {
    return Math.round(700 / Number(speed || 1));
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    epochscope: {render: render, urlState: urlState, downloadImage: downloadImage, playSpeed: playSpeed},
  });
})();
