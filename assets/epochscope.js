/* EpochScope's client side, wired to Dash: the page's two maps (one EpochScopeMapView each, over one
 * EpochScopeLoader: epochscope-map.js, epochscope-loader.js) drawn from each layer's sequence, which the server
 * sent once, so scrubbing epochs, recolouring and selecting never wait for the server; and the small browser-side
 * parts of the other panels (epoch marks on the curves, CKA and neuron maps, the input plane, Play, the URL). */
(function () {
  "use strict";
  // assets/epochscope-figure.js: payload + arrays -> figure (colours and customdata order come in the payload)
  const FIG = window.EpochScopeFigure, message = FIG.message;

  const F = window.EpochScopeFrames;  // assets/epochscope-frames.js: decoding, prefetch order, the frame cache
  // assets/epochscope-ids.js, generated from dashboard/vocab.py: the ids of the components read or written here
  const IDS = window.EpochScopeIds;
  const plot = id => document.querySelector("#" + id + " .js-plotly-plot");  // a dcc.Graph's Plotly element

  // The panels drawn on the server (training curves, observations, CKA) follow a new layer once the map has
  // drawn it (`layer-shown`), or after LAYER_WAIT_MS if the map cannot yet: at n = 50,000 their requests and
  // redraws otherwise compete with the map's for the server and the page's main thread (a layer switch took
  // 1.3-1.8 s instead of under 1 s)
  const LAYER_WAIT_MS = 1500, LAYER_AFTER_MS = 250;
  let layerWait = null;  // {layer, timer, settle(delay)}

  function layerShown(layer) {
    if (layerWait) { window.clearTimeout(layerWait.timer); }
    const wait = {layer: Number(layer), timer: null};
    wait.settle = delay => {
      window.clearTimeout(wait.timer);
      wait.timer = window.setTimeout(() => {
        if (layerWait === wait) { layerWait = null; }
        window.dash_clientside.set_props(IDS.layerShown, {data: wait.layer});
      }, delay);
    };
    layerWait = wait;
    wait.settle(LAYER_WAIT_MS);
    return window.dash_clientside.no_update;
  }

  // The page's two maps: one state object each, over one data loader (epochscope-map.js, epochscope-loader.js)
  const loader = new window.EpochScopeLoader();
  const map = new window.EpochScopeMapView(loader, {
    graph: IDS.map, glide: true, follow: IDS.epoch,
    apply: (figure, caption) => {
      if (figure !== window.dash_clientside.no_update) { window.dash_clientside.set_props(IDS.map, {figure: figure}); }
      if (caption !== window.dash_clientside.no_update) { window.dash_clientside.set_props(IDS.frameInfo, {children: caption}); }
    },
    onDrawn: payload => { if (layerWait && layerWait.layer === payload.layer) { layerWait.settle(LAYER_AFTER_MS); } },
    texts: {preparing: "Preparing the run…", layingOut: (payload, e) => "Laying out " + payload.name + ", epoch " + e + "…"},
  });
  const compared = new window.EpochScopeMapView(loader, {
    graph: IDS.mapB, glide: false, alignTo: map,
    apply: figure => {
      if (figure !== window.dash_clientside.no_update) { window.dash_clientside.set_props(IDS.mapB, {figure: figure}); }
    },
    texts: {preparing: "", layingOut: (payload, e) => "Laying out the compared run, epoch " + e + "…"},
  });

  function render(payload, epoch, colour, flags, selected, edges, changed) {
    // the map (dashboard/panels/map_panel.py): [figure, caption]
    return map.render({payload: payload, epoch: epoch, colour: colour, flags: flags, selected: selected, edges: edges,
                       changed: changed});
  }

  function renderCompare(payload, shownPayload, epoch, colour, selected) {
    // the compared run's map (dashboard/panels/compare_panel.py): its frame at the epoch on show, Procrustes-aligned
    // to the map's frame of the same epoch, the selected sample ringed in both; [figure, its container's class]
    const noUpdate = window.dash_clientside.no_update;
    if (!payload) {  // nothing compared: the hidden map is emptied once, not redrawn on every step
      const gd = compared.plot();
      return gd && Array.isArray(gd.data) && !gd.data.length ? [noUpdate, noUpdate] : [message(""), "compare-view hidden"];
    }
    const out = compared.render({payload: payload, epoch: epoch, colour: colour, flags: [], selected: selected,
                                 alignPayload: shownPayload});
    return [out[0], "compare-view"];
  }

  function ringChanged(changed, payload, epoch) {
    map.ringChanged(changed, payload, epoch);
    return window.dash_clientside.no_update;
  }

  function warmFrame(layer, run, epoch, graph, method) {
    loader.warm(run, layer, graph, method, epoch);
    return window.dash_clientside.no_update;
  }

  function edgesRequest(flags, run, layer, epoch, graph, current) {
    // the frame whose edges the server should send, only while edges are shown (null once they are turned off)
    if (!(Array.isArray(flags) && flags.includes("edges"))) {
      return current === null || current === undefined ? window.dash_clientside.no_update : null;
    }
    return {run: run, layer: layer, epoch: epoch, graph: graph};
  }

  function urlState(run, layer, epoch, colour, graph, method, selected, compare, name, search) {
    // the view in the URL (the run's name beside its id, for people: a link says which run it opens), and the
    // run's name as the tab's title
    const params = new URLSearchParams(search || "");
    params.set("run", run);
    if (name) { params.set("name", name); document.title = name + " · EpochScope"; } else { params.delete("name"); }
    params.set("layer", layer); params.set("epoch", epoch); params.set("colour", colour);
    params.set("graph", graph); params.set("method", method);
    if (selected !== null && selected !== undefined) { params.set("sample", selected); } else { params.delete("sample"); }
    if (compare) { params.set("compare", compare); } else { params.delete("compare"); }
    const next = "?" + params.toString();
    return next === search ? window.dash_clientside.no_update : next;
  }

  function shownFigure(pngClicks, svgClicks) {
    // the map as it is on screen, for the server to draw as PNG / SVG (dashboard/export.py map_image)
    const trig = window.dash_clientside.callback_context.triggered.map(t => t.prop_id)[0] || "";
    const gd = plot(IDS.map);
    if (!gd || !gd.data) { return window.dash_clientside.no_update; }
    const layout = Object.assign({}, gd.layout, {xaxis: Object.assign({}, gd.layout.xaxis, {autorange: false}),
                                                 yaxis: Object.assign({}, gd.layout.yaxis, {autorange: false})});
    // typed arrays (the points as moved in place) as plain ones: JSON has no typed arrays
    const plain = v => (ArrayBuffer.isView(v) ? Array.from(v) : v);
    const trace = t => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, k === "marker" && v ?
      Object.fromEntries(Object.entries(v).map(([mk, mv]) => [mk, plain(mv)])) : plain(v)]));
    return {format: trig.startsWith("export-svg") ? "svg" : "png", at: Date.now(),
            figure: {data: gd.data.map(trace), layout: layout}};
  }

  const MARK_MS = 150;
  let markTimer = null;

  function markEpoch(epoch) {
    // moves the training curves' epoch mark (dashboard/figures.py EPOCH_MARK) without asking the server: a
    // relayout of one shape once the slider has rested MARK_MS, so scrubbing never waits for the curves
    window.clearTimeout(markTimer);
    markTimer = window.setTimeout(() => {
      const gd = plot(IDS.trainingCurves);
      const shapes = gd && gd.layout && gd.layout.shapes;
      const at = Array.isArray(shapes) ? shapes.findIndex(s => s.name === "epoch") : -1;
      if (at >= 0 && shapes[at].x0 !== epoch) {
        window.Plotly.relayout(gd, {["shapes[" + at + "].x0"]: epoch, ["shapes[" + at + "].x1"]: epoch});
      }
    }, MARK_MS);
    return window.dash_clientside.no_update;
  }

  const REST_MS = 150;
  let restTimer = null;

  function markCka(epoch) {
    // the CKA maps follow the epoch without a redraw from the server (dashboard/figures.py cka_layers_figure):
    // the layers' map swaps in the epoch's matrix, the epochs' map moves its outline (shapes named "current-*")
    const layers = plot(IDS.ckaLayers);
    const all = layers && layers.layout && layers.layout.meta && layers.layout.meta.cka;
    if (all && all[epoch]) {
      window.Plotly.update(layers, {z: [all[epoch]]}, {"title.text": "CKA between layers · epoch " + epoch}, [0]);
    }
    const epochs = plot(IDS.ckaEpochs);
    const shapes = epochs && epochs.layout && epochs.layout.shapes;
    if (Array.isArray(shapes)) {
      const move = {};
      shapes.forEach((s, k) => {
        if (s.name === "current-col") { move["shapes[" + k + "].x0"] = epoch - 0.5; move["shapes[" + k + "].x1"] = epoch + 0.5; }
        if (s.name === "current-row") { move["shapes[" + k + "].y0"] = epoch - 0.5; move["shapes[" + k + "].y1"] = epoch + 0.5; }
      });
      if (Object.keys(move).length) { window.Plotly.relayout(epochs, move); }
    }
  }

  function restEpoch(epoch, playing) {
    // once the slider has rested REST_MS: the epoch into the `epoch-rested` store, so panels drawn on the server
    // (the analysis panel) follow the epoch without a round trip per step of a scrub, and the CKA maps' marks
    // (not while Play runs (`playing`, its store): the map gets the main thread to itself; the last epoch played
    // rests and updates them)
    window.clearTimeout(restTimer);
    if (playing) { return window.dash_clientside.no_update; }
    restTimer = window.setTimeout(() => {
      window.dash_clientside.set_props(IDS.epochRested, {data: epoch});
      markCka(Number(epoch));
    }, REST_MS);
    return window.dash_clientside.no_update;
  }

  // The input plane's decision surfaces (dashboard/plane_panel.py), decoded once per run and unit
  const planes = {key: null, decision: null, confidence: null, unitKey: null, unit: null};

  function lighten(hex, amount) {
    // the colour `amount` (0..1) of the way to white
    const n = parseInt(hex.slice(1), 16), mix = c => Math.round(c + (255 - c) * amount);
    return "rgb(" + [mix(n >> 16), mix((n >> 8) & 255), mix(n & 255)].join(",") + ")";
  }

  function planeRows(values, epoch, grid) {
    // one epoch's grid * grid values as the rows of a heat map
    const start = epoch * grid * grid, rows = [];
    for (let i = 0; i < grid; i++) { rows.push(Array.from(values.subarray(start + i * grid, start + (i + 1) * grid))); }
    return rows;
  }

  function renderPlane(plane, unitData, epoch) {
    // the decision surface at the epoch on show (each class's colour, paler where the network is less sure) with
    // the probe samples on it, and the clicked unit's activation over the plane
    const e = Number(epoch), blank = message("");
    if (!plane || !Number.isInteger(e)) { return [blank, blank]; }
    const planeKey = plane.run + "/" + plane.decision.bdata.length;  // a run still training sends more epochs
    if (planes.key !== planeKey) {
      Object.assign(planes, {key: planeKey, decision: F.decode(plane.decision), confidence: F.decode(plane.confidence)});
    }
    const grid = plane.grid, n = plane.classes.length, epochs = planes.decision.length / (grid * grid);
    const at = Math.min(Math.max(e, 0), epochs - 1);
    // z = class + how sure (0..1 over 1/n..1): each class a band of the colour scale, pale to full
    const z = planeRows(planes.decision, at, grid).map((row, i) => row.map((c, j) => {
      const p = planes.confidence[at * grid * grid + i * grid + j] / 255;
      return c + Math.min(0.999, Math.max(0, (p - 1 / n) / (1 - 1 / n)));
    }));
    const scale = [];
    for (let c = 0; c < n; c++) {
      const colour = plane.class_colours[c % plane.class_colours.length];
      scale.push([c / n, lighten(colour, 0.85)], [c === n - 1 ? 1 : (c + 1) / n - 1e-6, lighten(colour, 0.25)]);
    }
    const layout = title => ({title: {text: title, x: 0.01, font: {size: 12}}, template: "plotly_white",
      margin: {l: 30, r: 10, t: 30, b: 25}, xaxis: {range: [plane.xs[0], plane.xs[grid - 1]]},
      yaxis: {range: [plane.ys[0], plane.ys[grid - 1]], scaleanchor: "x", scaleratio: 1}, showlegend: false});
    const samples = {type: "scattergl", mode: "markers", x: plane.px, y: plane.py, hoverinfo: "skip",
                     marker: {size: 5, color: plane.label.map(c => plane.class_colours[c % plane.class_colours.length]),
                              // dark rims: a sample stands out on its own class's region too
                              line: {width: 0.8, color: "rgba(0,0,0,0.75)"}}};
    const decision = {data: [{type: "heatmap", x: plane.xs, y: plane.ys, z: z, zmin: 0, zmax: n, colorscale: scale,
                              showscale: false, hovertemplate: "(%{x:.2f}, %{y:.2f})<extra></extra>"}, samples],
                      layout: layout("Decision surface · epoch " + at)};
    if (!unitData || unitData.run !== plane.run) {
      const empty = message("Click a unit (neuron x sample graph or neuron map) to see it over the plane");
      empty.layout.annotations[0].font.size = 11;
      return [decision, empty];
    }
    const key = [unitData.run, unitData.layer, unitData.unit].join("/");
    if (planes.unitKey !== key) { Object.assign(planes, {unitKey: key, unit: F.decode(unitData.values)}); }
    const values = planeRows(planes.unit, at, grid).map(row => row.map(v => v / 255 * unitData.max));
    const unit = {data: [{type: "heatmap", x: plane.xs, y: plane.ys, z: values, zmin: 0,
                          colorscale: "Viridis", colorbar: {thickness: 10}, zmax: Math.max(unitData.max, 1e-6),
                          hovertemplate: "(%{x:.2f}, %{y:.2f}): %{z:.3g}<extra></extra>"},
                         Object.assign({}, samples, {marker: Object.assign({}, samples.marker, {size: 4})})],
                  layout: layout(unitData.name + " · epoch " + at)};
    return [decision, unit];
  }

  function markNeuronEpoch(epoch) {
    // rings the units of the epoch on show in the neuron map (dashboard/figures.py neuron_map_figure): its
    // "epoch on show" trace takes that epoch's nodes from the other traces, without asking the server
    const gd = plot(IDS.neuronMap);
    const e = Number(epoch);
    if (!gd || !Array.isArray(gd.data) || !Number.isInteger(e)) { return window.dash_clientside.no_update; }
    const ring = gd.data.findIndex(t => t.name === "epoch on show");
    if (ring < 0) { return window.dash_clientside.no_update; }
    const xs = [], ys = [], custom = [];
    gd.data.forEach((t, k) => {
      if (k === ring || !t.customdata) { return; }
      for (let i = 0; i < t.customdata.length; i++) {
        if (t.customdata[i][2] === e) { xs.push(t.x[i]); ys.push(t.y[i]); custom.push(t.customdata[i]); }
      }
    });
    window.Plotly.update(gd, {x: [xs], y: [ys], customdata: [custom]},
                         {"title.text": "Units over training · epoch " + e + " in red"}, [ring]);
    const curves = plot(IDS.neuronSelectivity);
    const shapes = curves && curves.layout && curves.layout.shapes;
    const at = Array.isArray(shapes) ? shapes.findIndex(s => s.name === "epoch") : -1;
    if (at >= 0) { window.Plotly.relayout(curves, {["shapes[" + at + "].x0"]: e, ["shapes[" + at + "].x1"]: e}); }
    return e;
  }

  const newest = {key: null, epoch: -1, wasTraining: false};

  function followSequence(payload, follow, max, epoch) {
    // a run that is still training: the epoch slider ends at its last recorded epoch and grows with it, and with
    // "follow latest" on the slider moves to each newly laid-out epoch of the sequence on show (not at the first
    // payload of a sequence, which keeps the epoch the user or the URL chose, nor while a finished run is laid out)
    const noUpdate = window.dash_clientside.no_update;
    if (!payload || payload.error || !payload.frames) { return [noUpdate, noUpdate, noUpdate]; }
    const last = payload.last_epoch, key = [payload.run, payload.layer, payload.graph, payload.method].join("/");
    const latest = Math.max(-1, ...Object.keys(payload.frames).map(Number));
    const grew = newest.key === key && latest > newest.epoch;
    // at the head of a run seen training that has just finished, its last epochs (laid out after the run's end)
    // are followed too
    const wasTraining = (newest.key === key && newest.wasTraining) || Boolean(payload.training);
    const atHead = newest.key === key && epoch === newest.epoch && wasTraining;
    Object.assign(newest, {key: key, epoch: latest, wasTraining: wasTraining});
    let marks = noUpdate;
    if (last !== max) {
      marks = {};
      // as controls.epoch_marks: about ten, labelled by the epoch or, for a run recorded by steps, its step
      const every = Math.max(1, Math.ceil(last / 10));
      const label = e => String(payload.steps && payload.steps.length > last ? payload.steps[e] : e);
      for (let e = 0; e <= last; e += every) { marks[e] = label(e); }
      // a regular mark too close to the last one to be read beside it ("24 25") gives way to it
      if (last % every > 0 && last % every < 0.75 * every) { delete marks[last - last % every]; }
      marks[last] = label(last);
    }
    const following = Array.isArray(follow) && follow.includes("follow");
    const value = grew && following && (payload.training || atHead) ? latest : noUpdate;
    return [last !== max ? last : noUpdate, marks, value];
  }

  const jobIdle = message => [message, "1", "1", "progress done", true];

  function showJob(state, ready, job, run) {
    // the job line of the run on show, now: [message, bar value, bar max, bar class, Cancel disabled]. A ready
    // run's summary (no job), else its job's progress or start; never another run's job
    const noUpdate = window.dash_clientside.no_update;
    if (ready && ready.run === run) { return jobIdle(ready.message); }
    if (!job || job.run !== run) { return jobIdle(""); }
    if (state && state.run === run && state.n === job.n) {
      return [state.message, String(state.done), String(state.total), "progress", false];
    }
    // the job's progress_default (null) also comes back when it ends: its end (showJobEnd) is what is said then
    const trig = window.dash_clientside.callback_context.triggered.map(t => t.prop_id)[0] || "";
    return trig.startsWith("job-state") ? [noUpdate, noUpdate, noUpdate, noUpdate, noUpdate]
      : ["Starting…", "0", "1", "progress", false];
  }

  function showJobEnd(final, run) {
    // a job's end: its final message, for its run only
    const noUpdate = window.dash_clientside.no_update;
    return final && final.run === run ? jobIdle(final.message) : [noUpdate, noUpdate, noUpdate, noUpdate, noUpdate];
  }

  function formRows(model, scramble, dataset) {
    // the new-run form's rows a choice uses: beta (a beta-VAE), the fraction (scrambling on), the data file
    const shown = on => (on ? {} : {display: "none"});
    return [shown(model === "vae"), shown(scramble && scramble !== "none"), shown(dataset === "file")];
  }

  const PLAY_LABELS = {play: "▶ Play", pause: "❚❚ Pause"};

  function play(nClicks, nIntervals, epoch, maxEpoch, playing) {
    // Play / Pause and each tick of Play's interval: [epoch, playing (its store), the interval's `disabled`,
    // the button's label]; the last epoch reached stops it
    const noUpdate = window.dash_clientside.no_update;
    const trig = window.dash_clientside.callback_context.triggered.map(t => t.prop_id)[0] || "";
    const stopped = [noUpdate, false, true, PLAY_LABELS.play];
    if (trig.startsWith("play-button")) {
      if (playing) { return stopped; }
      return [epoch >= maxEpoch ? 0 : epoch, true, false, PLAY_LABELS.pause];
    }
    if (trig.startsWith("play-interval") && playing) {
      return epoch + 1 >= maxEpoch ? [maxEpoch, false, true, PLAY_LABELS.play] : [epoch + 1, noUpdate, noUpdate, noUpdate];
    }
    return [noUpdate, noUpdate, noUpdate, noUpdate];
  }

  function goTo(request, layerMax, epochMax) {
    // a panel's request to show a layer and / or an epoch ({layer, epoch}), applied within the sliders' ranges
    const noUpdate = window.dash_clientside.no_update;
    const within = (value, max) => (Number.isInteger(value) && value >= 0 && value <= Number(max) ? value : noUpdate);
    if (!request || typeof request !== "object") { return [noUpdate, noUpdate]; }
    return [within(request.layer, layerMax), within(request.epoch, epochMax)];
  }

  function playSpeed(speed, base) {
    // Play's interval at `speed` epochs per base interval (dashboard/controls.py PLAY_INTERVAL_MS, sent as `base`)
    return Math.round(Number(base) / Number(speed || 1));
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    epochscope: {render: render, layerShown: layerShown, markNeuronEpoch: markNeuronEpoch, renderPlane: renderPlane, ringChanged: ringChanged, edgesRequest: edgesRequest, urlState: urlState, shownFigure: shownFigure, markEpoch: markEpoch,
                 restEpoch: restEpoch, followSequence: followSequence, warmFrame: warmFrame,
                 renderCompare: renderCompare,
                 play: play, goTo: goTo, playSpeed: playSpeed, showJob: showJob,
                 showJobEnd: showJobEnd, formRows: formRows},
  });
})();
