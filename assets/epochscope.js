/* EpochScope's client side: the map of one (layer, epoch) drawn from the layer's sequence, which the server sent
 * once, so scrubbing epochs, recolouring and selecting never wait for the server. */
(function () {
  "use strict";
  // assets/epochscope-figure.js: payload + arrays -> figure (colours and customdata order come in the payload)
  const FIG = window.EpochScopeFigure, message = FIG.message;

  const F = window.EpochScopeFrames;  // assets/epochscope-frames.js: decoding, prefetch order, the frame cache
  // assets/epochscope-ids.js, generated from dashboard/vocab.py: the ids of the components read or written here
  const IDS = window.EpochScopeIds;
  const plot = id => document.querySelector("#" + id + " .js-plotly-plot");  // a dcc.Graph's Plotly element

  // Each epoch's arrays come from GET /frames/<run>/<layer>/<epoch> when needed: the epoch on show first, then
  // those around it (F.prefetchOrder), at most MAX_FETCHES at a time, kept decoded in a byte-bounded cache under
  // run / layer / graph / method / epoch with the version the server gave them (a frame laid out again has a new
  // one). A run's per-sample arrays come once from GET /samples/<run>.
  const MAX_FETCHES = 4, CACHE_BYTES = 192 * 1024 * 1024;
  const cache = new F.FrameCache(CACHE_BYTES), fetching = new Set(), runSamples = new Map();
  let focus = null;  // {payload, epoch}: what the map shows or waits for
  const wanted = new Set();  // the keys of the frames (or "samples/<run>") the maps wait for

  function base() {
    const config = document.getElementById("_dash-config");
    const prefix = config ? JSON.parse(config.textContent).requests_pathname_prefix : "/";
    return (prefix || "/").replace(/\/$/, "");
  }

  function frameKey(run, layer, graph, method, epoch) { return [run, layer, graph, method, epoch].join("/"); }

  function frameUrl(run, layer, graph, method, epoch, version) {
    return base() + "/frames/" + encodeURIComponent(run) + "/" + layer + "/" + epoch + "?graph=" +
      encodeURIComponent(graph) + "&method=" + encodeURIComponent(method) + (version ? "&v=" + version : "");
  }

  function frameArrays(payload, epoch) {
    // the decoded arrays of a ready epoch in the version the payload names, or undefined while on their way
    const scalars = payload.frames[String(epoch)];
    const frame = scalars && cache.get(frameKey(payload.run, payload.layer, payload.graph, payload.method, epoch));
    return frame && frame.version === scalars.version ? frame : undefined;
  }

  let arrivals = 0;

  function arrived(key, ok) {
    // a fetch ended: a map waiting for it draws again (not after a failure, which would only ask again at once;
    // the console says what failed and the next move of a control asks again)
    fetching.delete(key);
    if (wanted.delete(key) && ok) {
      window.dash_clientside.set_props(IDS.frameArrived, {data: key + "#" + (++arrivals)});
    }
    prefetch();
  }

  function fetchJson(key, url, keep) {
    fetching.add(key);
    window.fetch(url, {credentials: "same-origin", cache: url.includes("v=") ? "default" : "no-store"})
      .then(r => (r.status === 204 ? null : r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
      .then(body => { if (body) { keep(body); } arrived(key, true); })
      .catch(error => {
        console.warn("EpochScope: could not fetch " + url + ": " + error.message);
        arrived(key, false);
      });
  }

  function fetchFrame(payload, epoch) {
    const key = frameKey(payload.run, payload.layer, payload.graph, payload.method, epoch);
    if (fetching.has(key)) { return key; }
    const version = payload.frames[String(epoch)].version;
    fetchJson(key, frameUrl(payload.run, payload.layer, payload.graph, payload.method, epoch, version),
              body => cache.put(key, Object.assign(F.decodeFrame(body), {version: body.version})));
    return key;
  }

  function prefetch() {
    // keep MAX_FETCHES requests going for the epochs around the focus
    if (!focus) { return; }
    const payload = focus.payload;
    const ready = Object.keys(payload.frames).map(Number);
    const have = e => frameArrays(payload, e) !== undefined ||
      fetching.has(frameKey(payload.run, payload.layer, payload.graph, payload.method, e));
    for (const e of F.prefetchOrder(ready, focus.epoch, payload.n_nodes, have)) {
      if (fetching.size >= MAX_FETCHES) { break; }
      fetchFrame(payload, e);
    }
  }

  function warmFrame(layer, run, epoch, graph, method) {
    // a layer switch: fetch the new layer's frame at the epoch on show at once, beside the server's answer with
    // the layer's sequence (its version is checked against that sequence when both have arrived)
    const key = frameKey(run, layer, graph, method, epoch);
    if (run && Number.isInteger(Number(epoch)) && !cache.has(key) && !fetching.has(key)) {
      fetchJson(key, frameUrl(run, layer, graph, method, epoch, "") + "&optional=1",
                body => cache.put(key, Object.assign(F.decodeFrame(body), {version: body.version})));
    }
    return window.dash_clientside.no_update;
  }

  function samples(payload) {
    // the run's per-sample arrays (true class, data-set index, scrambled) and the sequence's box, decoded; fetched
    // once per run, undefined while on their way
    const got = runSamples.get(payload.run);
    if (!got || got.version !== payload.samples_version) {
      const key = "samples/" + payload.run;
      if (!fetching.has(key)) {
        fetchJson(key, base() + "/samples/" + encodeURIComponent(payload.run) + "?v=" + payload.samples_version,
                  body => runSamples.set(body.run, {version: body.version, labels: F.decode(body.labels),
                                                    index: F.decode(body.index), scrambled: F.decode(body.scrambled)}));
      }
      return undefined;
    }
    if (got.boxFor !== payload) { Object.assign(got, {boxFor: payload, box: F.unionBox(payload.frames)}); }
    return got;
  }

  // Gliding between epochs: scattergl has no transitions, so the map is drawn where the points are now and then
  // moved to the new frame by interpolating every node's position over GLIDE_MS, one restyle per animation frame.
  // `shown` holds each node's position on screen for the sequence drawn last (key: run / layer / graph / method).
  const GLIDE_MS = 240;
  const shown = {key: null, x: null, y: null, token: 0};

  function ease(s) { return s < 0.5 ? 2 * s * s : 1 - 2 * (1 - s) * (1 - s); }

  function moving(state) {
    // the map's `data-glide` attribute: "moving" while points glide, "still" once they are in place
    const map = document.getElementById(IDS.map);
    if (map) { map.dataset.glide = state ? "moving" : "still"; }
  }

  function moveNodes(gd, parts, x, y) {
    // one restyle putting each part's nodes at (x, y) of their node index, as typed arrays (which Plotly takes
    // as they are)
    const pick = (values, members) => {
      const out = new Float64Array(members.length);
      for (let k = 0; k < members.length; k++) { out[k] = values[members[k]]; }
      return out;
    };
    window.Plotly.restyle(gd, {x: parts.map(p => pick(x, p[1])), y: parts.map(p => pick(y, p[1]))},
                          parts.map(p => p[0]));
  }

  function glideTo(token, parts, fromX, fromY, toX, toY, done) {
    // parts: [trace index, node indices]; waits until Dash has put the figure of `token` on the page; calls
    // `done` (if given) once the points stand on the new frame
    let started = null;
    const asked = performance.now();
    moving(true);
    function tick(now) {
      if (shown.token !== token) { return; }  // a newer frame took over from where this one got to
      const gd = plot(IDS.map);
      const ready = gd && gd.layout && gd.layout.meta && gd.layout.meta.glide === token;
      if (!ready) {
        if (now - asked < 2000) { window.requestAnimationFrame(tick); } else { moving(false); }
        return;
      }
      started = started === null ? now : started;
      const s = Math.min(1, (now - started) / GLIDE_MS), w = ease(s);
      for (let i = 0; i < toX.length; i++) {
        shown.x[i] = fromX[i] + (toX[i] - fromX[i]) * w;
        shown.y[i] = fromY[i] + (toY[i] - fromY[i]) * w;
      }
      moveNodes(gd, parts, shown.x, shown.y);
      if (s < 1) {
        window.requestAnimationFrame(tick);
      } else {
        moving(false);
        if (done) { done(); }
      }
    }
    window.requestAnimationFrame(tick);
  }

  function ringedNodes(payload, epoch, changed) {
    // probe positions of the analysis panel's "what changed" list, if it is this frame's
    const current = payload && changed && changed.run === payload.run && changed.layer === payload.layer &&
      changed.epoch === epoch && payload.graph !== undefined;
    return current && Array.isArray(changed.pos) ?
      changed.pos.filter(i => Number.isInteger(i) && i >= 0 && i < payload.n_samples) : [];
  }

  function ringChanged(changed, payload, epoch) {
    // rings the "what changed" samples on the map as drawn (its "changed most" trace added, moved or emptied by
    // Plotly itself): no redraw of the map per list
    const gd = plot(IDS.map);
    const frame = payload && payload.frames && frameArrays(payload, Number(epoch));
    if (!gd || !Array.isArray(gd.data) || !frame) { return window.dash_clientside.no_update; }
    const ringed = ringedNodes(payload, Number(epoch), changed);
    const xs = ringed.map(i => frame.x[i]), ys = ringed.map(i => frame.y[i]);
    const at = gd.data.findIndex(t => t.name === "changed most");
    if (at >= 0) {
      window.Plotly.restyle(gd, {x: [xs], y: [ys]}, [at]);
    } else if (ringed.length) {
      window.Plotly.addTraces(gd, FIG.ringTrace(payload.style, xs, ys));
    }
    return window.dash_clientside.no_update;
  }

  // What the map shows (see stepInPlace): the view it drew (null: not one a step can move in place), the
  // [trace index, node indices] of the traces whose nodes move from epoch to epoch
  // traces whose nodes move from epoch to epoch, and the epoch and frame version it shows
  const drawn = {signature: null, parts: null, samples: null, epoch: null, version: null};

  function stepInPlace(payload, signature, token, glide, fromX, fromY, frame, S, title, colours, sens, maxSens,
                       bySize) {
    // An epoch step within one view whose traces keep their members (coloured by class or scrambled, or by
    // sensitivity: one trace): the figure on the page is moved to the new frame with restyles, not rebuilt and
    // handed to Dash (at n = 50,000 a figure of 50,000 points costs Dash and Plotly.react 100-300 ms per step).
    // The hover's per-epoch fields (prediction, confidence, sensitivity) follow once the points stand still.
    // Returns false when the page's map is not the one drawn for `signature`.
    const gd = plot(IDS.map);
    if (drawn.signature !== signature || !gd || !Array.isArray(gd.data) ||
        drawn.parts.some(([t, m]) => !gd.data[t] || gd.data[t].x.length !== m.length)) {
      return false;
    }
    shown.token = token;
    Object.assign(shown, {x: Float64Array.from(fromX), y: Float64Array.from(fromY)});
    // every call into Plotly redraws all the points (40-80 ms at 50,000): the step makes as few as it can. The
    // samples ringed for the last epoch leave with the points' first move, and the title changes in place (it
    // is drawn from gd.layout on every redraw)
    const ring = gd.data.findIndex(t => t.name === "changed most" && t.x.length);
    const parts = ring >= 0 ? [...drawn.parts, [ring, []]] : drawn.parts;
    const perEpoch = {}, traces = drawn.samples.map(p => p[0]);
    if (colours && traces.some(t => gd.data[t].marker.colorscale)) {  // a colour mode on a scale: its new values
      perEpoch["marker.color"] = drawn.samples.map(([, m]) => m.map(i => colours[i]));
    }
    if (bySize && sens) {
      perEpoch["marker.size"] = drawn.samples.map(([, m]) => m.map(i => 4 + 12 * Math.sqrt(sens[i] / maxSens)));
    }
    if (Object.keys(perEpoch).length) { window.Plotly.restyle(gd, perEpoch, traces); }
    gd.layout.meta = Object.assign({}, gd.layout.meta, {glide: token});
    gd.layout.title = Object.assign({}, gd.layout.title, {text: title});
    const shownTitle = gd.querySelector(".gtitle");
    if (shownTitle) { shownTitle.textContent = title; }
    const hover = () => {
      if (shown.token !== token) { return; }  // a newer step took over
      const data = drawn.samples.map(([, m]) => FIG.sampleHover(payload, S, frame, m));
      window.Plotly.restyle(gd, {customdata: data.map(h => h.customdata), hovertemplate: data.map(h => h.hovertemplate)},
                            traces);
    };
    if (glide) {
      glideTo(token, parts, fromX, fromY, frame.x, frame.y, () => window.setTimeout(hover, REST_MS));
    } else {
      Object.assign(shown, {x: Float64Array.from(frame.x), y: Float64Array.from(frame.y)});
      moveNodes(gd, parts, frame.x, frame.y);
      moving(false);
      window.setTimeout(hover, REST_MS);
    }
    return true;
  }

  // The map follows the epoch slider's thumb itself for a step in place: the thumb shows its new value
  // (aria-valuenow) some 40-70 ms before Dash has run the change's callbacks at n = 50,000, and render, called
  // by Dash for an epoch already drawn, then only sets the caption
  let lastArgs = null;  // render's arguments, as Dash gave them last
  let following = false;

  function followSlider() {
    const slider = document.getElementById(IDS.epoch);
    if (following || !slider) { return; }
    following = true;
    new MutationObserver(() => {
      const thumb = slider.querySelector("[role=slider]");
      const e = thumb ? Number(thumb.getAttribute("aria-valuenow")) : NaN;
      if (lastArgs && drawn.signature !== null && Number.isInteger(e) && e !== drawn.epoch) {
        draw(Object.assign([], lastArgs, {1: e}), true);
      }
    }).observe(slider, {attributes: true, subtree: true, attributeFilter: ["aria-valuenow"]});
  }

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

  function render(payload, epoch, colour, flags, selected, edges, arrived, changed) {
    lastArgs = [payload, epoch, colour, flags, selected, edges, arrived, changed];
    followSlider();
    return draw(lastArgs, false);
  }

  function draw(args, inPlaceOnly) {
    // render's work; with inPlaceOnly (the slider follower) only a step in place, else nothing
    const [payload, epoch, colour, , selected, edges, , changed] = args;
    let flags = args[3];
    const noUpdate = window.dash_clientside.no_update;
    const fail = text => {
      drawn.signature = null;
      return inPlaceOnly ? null : [message(text), ""];
    };
    if (!payload) { return fail("Preparing the run…"); }
    if (payload.error) { return fail(payload.error); }
    const e = Number(epoch);
    if (!Number.isInteger(e) || e < 0 || e > payload.last_epoch) {
      return fail("epoch must be in 0.." + payload.last_epoch + ", got " + epoch);
    }
    const scalars = payload.frames[String(e)];
    if (!scalars) { return inPlaceOnly ? null : fail("Laying out " + payload.name + ", epoch " + e + "…"); }
    if (inPlaceOnly && !frameArrays(payload, e)) { return null; }  // Dash's call fetches it
    focus = {payload: payload, epoch: e};
    const frame = frameArrays(payload, e), S = samples(payload);
    if (!frame || !S) {
      // on its way: the map stays as it is until it arrives (arrived() then sets frame-arrived, an input here)
      wanted.add(S ? fetchFrame(payload, e) : "samples/" + payload.run);
      prefetch();
      return [noUpdate, payload.name + ", epoch " + e + ": loading…"];
    }
    prefetch();
    const sens = frame.sens;
    flags = Array.isArray(flags) ? flags : [];
    const key = [payload.run, payload.layer, payload.graph, payload.method].join("/");
    const nodes = frame.x.length;
    const bySize = flags.includes("size");
    const caption = FIG.caption(payload, e), title = FIG.title(payload, e);
    // the view the map draws, all but the epoch: an epoch step within it whose traces keep their members is a
    // step in place (edges and the trail are per epoch, and so are the groups coloured by prediction)
    const keepsMembers = FIG.colourMode(colour, frame).steady &&
      !flags.includes("edges") && !flags.includes("trail") && !ringedNodes(payload, e, changed).length;
    const signature = keepsMembers ? JSON.stringify([key, colour, flags, selected, nodes, payload.samples_version]) : null;
    const gd = plot(IDS.map);
    if (signature !== null && drawn.signature === signature && drawn.epoch === e && drawn.version === scalars.version &&
        gd && gd.layout && gd.layout.meta && gd.layout.meta.glide === shown.token) {
      return inPlaceOnly ? null : [noUpdate, caption];  // drawn already (by the follower, or before a frame arrived)
    }
    let maxSens = 1e-12;
    if (sens) { for (let i = 0; i < sens.length; i++) { maxSens = Math.max(maxSens, sens[i]); } }
    // where each node starts: where it is on screen if this sequence is on show and gliding is on, else its place
    const glide = flags.includes("glide") && shown.key === key && shown.x.length === nodes;
    const fromX = glide ? Float64Array.from(shown.x) : Float64Array.from(frame.x);
    const fromY = glide ? Float64Array.from(shown.y) : Float64Array.from(frame.y);
    const scale = FIG.colourMode(colour, frame).scale;
    if (signature !== null && stepInPlace(payload, signature, shown.token + 1, glide, fromX, fromY, frame, S, title,
                                          scale ? frame[scale] : null, sens, maxSens, bySize)) {
      Object.assign(drawn, {epoch: e, version: scalars.version});
      return inPlaceOnly ? null : [noUpdate, caption];
    }
    if (inPlaceOnly) { return null; }
    const token = ++shown.token;
    Object.assign(shown, {key: key, x: Float64Array.from(fromX), y: Float64Array.from(fromY)});
    const at = selected === null || selected === undefined ? -1 : S.index.indexOf(selected);
    let trail = null;
    if (at >= 0 && flags.includes("trail")) {
      // the selected sample's path over the epochs so far (display frames are aligned epoch to epoch)
      trail = {x: [], y: []};
      for (let t = 0; t <= e; t++) {
        const f = frameArrays(payload, t);  // the epochs the page holds (all of them for a small sequence)
        if (f) { trail.x.push(f.x[at]); trail.y.push(f.y[at]); }
      }
    }
    // the samples whose raw neighbourhoods changed most since the last epoch are ringed (the analysis panel's
    // list, once it has arrived for this frame; ringChanged adds or updates the trace when it arrives later)
    const {figure, parts} = FIG.mapFigure(payload, e, frame, S, {
      colour: colour, flags: flags, selected: selected, edges: edges, ringed: ringedNodes(payload, e, changed),
      trail: trail, x: fromX, y: fromY, meta: {glide: token}});
    const traces = figure.data;
    if (layerWait && layerWait.layer === payload.layer) { layerWait.settle(LAYER_AFTER_MS); }
    Object.assign(drawn, {signature: signature, parts: parts, epoch: e, version: scalars.version,
                          samples: parts.filter(([t]) => traces[t].customdata && traces[t].name !== "neurons")});
    if (glide) { glideTo(token, parts, fromX, fromY, frame.x, frame.y); } else { moving(false); }
    return [figure, caption];
  }

  function edgesRequest(flags, run, layer, epoch, graph, current) {
    // the frame whose edges the server should send, only while edges are shown (null once they are turned off)
    if (!(Array.isArray(flags) && flags.includes("edges"))) {
      return current === null || current === undefined ? window.dash_clientside.no_update : null;
    }
    return {run: run, layer: layer, epoch: epoch, graph: graph};
  }

  function urlState(run, layer, epoch, colour, graph, method, selected, compare, search) {
    const params = new URLSearchParams(search || "");
    params.set("run", run); params.set("layer", layer); params.set("epoch", epoch); params.set("colour", colour);
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
                              line: {width: 0.6, color: "white"}}};
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
                         {"title.text": "Units over training · epoch " + e + " ringed"}, [ring]);
    const curves = plot(IDS.neuronSelectivity);
    const shapes = curves && curves.layout && curves.layout.shapes;
    const at = Array.isArray(shapes) ? shapes.findIndex(s => s.name === "epoch") : -1;
    if (at >= 0) { window.Plotly.relayout(curves, {["shapes[" + at + "].x0"]: e, ["shapes[" + at + "].x1"]: e}); }
    return e;
  }

  function renderCompare(payload, shownPayload, epoch, colour, selected) {
    // the compared run's map (dashboard/compare_panel.py): its frame at the epoch on show, Procrustes-aligned to
    // the map's frame of the same epoch over the samples both show, the selected sample ringed in both
    const noUpdate = window.dash_clientside.no_update;
    if (!payload) {  // nothing compared: the hidden map is emptied once, not redrawn on every step
      const gd = plot(IDS.mapB);
      return gd && Array.isArray(gd.data) && !gd.data.length ? [noUpdate, noUpdate] : [message(""), "compare-view hidden"];
    }
    if (payload.error) { return [message(payload.error), "compare-view"]; }
    const e = Number(epoch), scalars = payload.frames[String(e)];
    if (!scalars) { return [message("Laying out the compared run, epoch " + e + "…"), "compare-view"]; }
    const frame = frameArrays(payload, e), S = samples(payload);
    if (!frame || !S) {
      wanted.add(S ? fetchFrame(payload, e) : "samples/" + payload.run);
      return [noUpdate, "compare-view"];
    }
    const n = payload.n_samples;
    const shown = shownPayload && !shownPayload.error && shownPayload.frames && shownPayload.n_samples === n &&
      shownPayload.frames[String(e)] ? frameArrays(shownPayload, e) : undefined;
    const S0 = shown ? samples(shownPayload) : undefined;
    let xs = frame.x, ys = frame.y, note = "not aligned (the map's frame is on its way)";
    if (shown && S0) {
      const fit = F.procrustes(shown.x.subarray(0, n), shown.y.subarray(0, n), frame.x, frame.y);
      xs = fit.x; ys = fit.y;
      note = "aligned to the map: residual " + fit.residual.toFixed(2) + " of its radius";
    }
    // the same figure as the map's, in every colour mode, on the aligned positions
    const figure = FIG.mapFigure(payload, e, frame, S, {colour: colour, flags: [], selected: selected, x: xs, y: ys,
                                                         meta: {aligned: Boolean(shown && S0)}}).figure;
    const box = shown && S0 ? S0.box : S.box;
    Object.assign(figure.layout, {
      title: {text: FIG.plotText(payload.run) + " · " + payload.name + " · epoch " + e + "<br><sub>" + note + "</sub>",
              x: 0.01, font: {size: 13}},
      uirevision: "compare/" + payload.run + "/" + payload.layer, margin: {l: 10, r: 10, t: 50, b: 10},
      showlegend: false, xaxis: Object.assign({}, figure.layout.xaxis, {range: box[0]}),
      yaxis: Object.assign({}, figure.layout.yaxis, {range: box[1]})});
    return [figure, "compare-view"];
  }

  const newest = {key: null, epoch: -1};

  function followSequence(payload, follow, max, epoch) {
    // a run that is still training: the epoch slider ends at its last recorded epoch and grows with it, and with
    // "follow latest" on the slider moves to each newly laid-out epoch of the sequence on show (not at the first
    // payload of a sequence, which keeps the epoch the user or the URL chose, nor while a finished run is laid out)
    const noUpdate = window.dash_clientside.no_update;
    if (!payload || payload.error || !payload.frames) { return [noUpdate, noUpdate, noUpdate]; }
    const last = payload.last_epoch, key = [payload.run, payload.layer, payload.graph, payload.method].join("/");
    const latest = Math.max(-1, ...Object.keys(payload.frames).map(Number));
    const grew = newest.key === key && latest > newest.epoch;
    Object.assign(newest, {key: key, epoch: latest});
    let marks = noUpdate;
    if (last !== max) {
      marks = {};
      const step = Math.max(1, Math.floor(last / 10));
      for (let e = 0; e <= last; e += step) { marks[e] = String(e); }
      marks[last] = String(last);
    }
    const value = grew && payload.training && Array.isArray(follow) && follow.includes("follow") ? latest : noUpdate;
    return [last !== max ? last : noUpdate, marks, value];
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

  function playSpeed(speed, base) {
    // Play's interval at `speed` epochs per base interval (dashboard/controls.py PLAY_INTERVAL_MS, sent as `base`)
    return Math.round(Number(base) / Number(speed || 1));
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    epochscope: {render: render, layerShown: layerShown, markNeuronEpoch: markNeuronEpoch, renderPlane: renderPlane, ringChanged: ringChanged, edgesRequest: edgesRequest, urlState: urlState, shownFigure: shownFigure, markEpoch: markEpoch,
                 restEpoch: restEpoch, followSequence: followSequence, warmFrame: warmFrame,
                 renderCompare: renderCompare,
                 play: play, playSpeed: playSpeed},
  });
})();
