/* EpochScope's map view: one object per map on the page (the map, and the compared run's map), each holding its
 * own state (what it drew, where its points are on screen, its inputs as Dash gave them last) and drawing with
 * the shared figure code (epochscope-figure.js) from the shared data loader (epochscope-loader.js).
 *
 * Dash calls `render` with the view's inputs; when a frame it waits for arrives, the loader calls `arrived` and
 * the view puts its new figure on the page itself (Dash's set_props), without a round trip through the server
 * or a store. A view with `glide` moves its points from one epoch to the next (and steps in place when its
 * traces keep their members); a view with `alignTo` is Procrustes-aligned to that view's frame of the same epoch.
 * Loaded before epochscope.js (window.EpochScopeMapView).
 */
(function () {
  "use strict";
  const FIG = window.EpochScopeFigure, message = FIG.message;
  const F = window.EpochScopeFrames;
  // the map's box is the union of the frames within this many epochs of the one on show
  const BOX_REACH = 2;
  const GLIDE_MS = 240;
  // after a step in place, the hover's per-epoch fields follow once the points have rested this long
  const REST_MS = 150;

  function ease(s) { return s < 0.5 ? 2 * s * s : 1 - 2 * (1 - s) * (1 - s); }

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

  function ringedNodes(payload, epoch, changed) {
    // probe positions of the analysis panel's "what changed" list, if it is this frame's
    const current = payload && changed && changed.run === payload.run && changed.layer === payload.layer &&
      changed.epoch === epoch && payload.graph !== undefined;
    return current && Array.isArray(changed.pos) ?
      changed.pos.filter(i => Number.isInteger(i) && i >= 0 && i < payload.n_samples) : [];
  }

  class MapView {
    /* options: {graph: the dcc.Graph's id, glide: move points between epochs (and step in place), alignTo: a view
     * to align to, follow: the id of an epoch slider to follow ahead of Dash (a step in place only), apply:
     * (figure, caption) => put them on the page, onDrawn: (payload) => called once a new figure is built,
     * texts: {preparing, layingOut(payload, epoch)}} */
    constructor(loader, options) {
      this.loader = loader;
      this.o = options;
      // where each node is on screen for the sequence drawn last (key: run / layer / graph / method); `token`
      // names the newest figure or step, so an older glide stops where it got to
      this.shown = {key: null, x: null, y: null, token: 0};
      // what it drew: the view (null: not one a step can move in place), the [trace index, node indices] of the
      // traces whose nodes move from epoch to epoch and of its samples' traces, and the epoch and version shown
      this.drawn = {signature: null, parts: null, samples: null, epoch: null, version: null};
      this.args = null;  // {payload, epoch, colour, flags, selected, edges, changed, alignPayload}
      this.following = false;
    }

    plot() {
      return document.querySelector("#" + this.o.graph + " .js-plotly-plot");
    }

    render(args) {
      // Dash's call: [figure, caption] for the view's outputs
      this.args = args;
      this._follow();
      return this.draw(args, false);
    }

    arrived() {
      // the loader has what the view waited for: draw again and put the result on the page
      if (!this.args) { return; }
      const out = this.draw(this.args, false);
      if (out) { this.o.apply(out[0], out[1]); }
    }

    moving(state) {
      // the graph's `data-glide` attribute: "moving" while points glide, "still" once they are in place
      const map = document.getElementById(this.o.graph);
      if (map) { map.dataset.glide = state ? "moving" : "still"; }
    }

    ringChanged(changed, payload, epoch) {
      // rings the "what changed" samples on the map as drawn (its "changed most" trace added, moved or emptied by
      // Plotly itself): no redraw of the map per list
      const gd = this.plot();
      const frame = payload && payload.frames && this.loader.frame(payload, Number(epoch));
      if (!gd || !Array.isArray(gd.data) || !frame) { return; }
      const ringed = ringedNodes(payload, Number(epoch), changed);
      const xs = ringed.map(i => frame.x[i]), ys = ringed.map(i => frame.y[i]);
      const label = (changed && changed.label) || "changed most";
      const at = gd.data.findIndex(t => t.meta === "ring");
      if (at >= 0) {
        window.Plotly.restyle(gd, {x: [xs], y: [ys], name: label}, [at]);
      } else if (ringed.length) {
        window.Plotly.addTraces(gd, FIG.ringTrace(payload.style, xs, ys, label));
      }
    }

    _follow() {
      // The map follows the epoch slider's thumb itself for a step in place: the thumb shows its new value
      // (aria-valuenow) some 40-70 ms before Dash has run the change's callbacks at n = 50,000, and render,
      // called by Dash for an epoch already drawn, then only sets the caption
      const slider = this.o.follow && document.getElementById(this.o.follow);
      if (this.following || !slider) { return; }
      this.following = true;
      new MutationObserver(() => {
        const thumb = slider.querySelector("[role=slider]");
        const e = thumb ? Number(thumb.getAttribute("aria-valuenow")) : NaN;
        if (this.args && this.drawn.signature !== null && Number.isInteger(e) && e !== this.drawn.epoch) {
          this.draw(Object.assign({}, this.args, {epoch: e}), true);
        }
      }).observe(slider, {attributes: true, subtree: true, attributeFilter: ["aria-valuenow"]});
    }

    _aligned(a, e, frame) {
      // where this view draws each node: its frame's place, or Procrustes-aligned to the view it follows
      const none = {x: frame.x, y: frame.y, note: null, box: null, aligned: false};
      if (!this.o.alignTo) { return none; }
      const other = a.alignPayload, n = a.payload.n_samples;
      const usable = other && !other.error && other.frames && other.n_samples === n && other.frames[String(e)];
      const theirs = usable ? this.loader.frame(other, e) : undefined;
      const S0 = theirs ? this.loader.samples(other) : undefined;
      if (!theirs || !S0) {
        if (usable) { this.loader.want(this, other, e); }  // drawn again, aligned, when it arrives
        return Object.assign(none, {note: "not aligned (the map's frame is on its way)"});
      }
      const fit = window.EpochScopeFrames.procrustes(theirs.x.subarray(0, n), theirs.y.subarray(0, n), frame.x, frame.y);
      return {x: fit.x, y: fit.y, box: S0.box, aligned: true,
              note: "aligned to the map: residual " + fit.residual.toFixed(2) + " of its radius"};
    }

    draw(a, inPlaceOnly) {
      // [figure, caption] for inputs `a` (either may be Dash's no_update); with inPlaceOnly (the slider follower)
      // only a step in place, else nothing (null)
      const noUpdate = window.dash_clientside.no_update;
      const payload = a.payload;
      const fail = text => {
        this.drawn.signature = null;
        return inPlaceOnly ? null : [message(text), ""];
      };
      if (!payload) { return fail(this.o.texts.preparing); }
      if (payload.error) { return fail(payload.error); }
      const e = Number(a.epoch);
      if (!Number.isInteger(e) || e < 0 || e > payload.last_epoch) {
        return fail("epoch must be in 0.." + payload.last_epoch + ", got " + a.epoch);
      }
      const scalars = payload.frames[String(e)];
      if (!scalars) { return inPlaceOnly ? null : fail(this.o.texts.layingOut(payload, e)); }
      const frame = this.loader.frame(payload, e), S = this.loader.samples(payload);
      if (inPlaceOnly && !frame) { return null; }  // Dash's call fetches it
      if (!frame || !S) {
        // on its way: the map stays as it is until it arrives (the loader then calls arrived())
        this.loader.want(this, payload, e);
        return [noUpdate, payload.name + ", epoch " + e + ": loading…"];
      }
      this.loader.watch(this, payload, e);
      const flags = Array.isArray(a.flags) ? a.flags : [];
      const caption = FIG.caption(payload, e), title = FIG.title(payload, e);
      const at = this._aligned(a, e, frame);
      if (this.o.glide) {
        const stepped = this._step(a, e, scalars, frame, S, flags, caption, title, inPlaceOnly);
        if (stepped !== undefined) { return stepped; }
      }
      if (inPlaceOnly) { return null; }
      return this._figure(a, e, scalars, frame, S, flags, caption, at);
    }

    _signature(a, e, frame, flags) {
      // the view the map draws, all but the epoch, when an epoch step within it keeps its traces' members (edges
      // and the trail are per epoch, and so are the groups coloured by prediction); null otherwise
      const p = a.payload;
      const steady = FIG.colourMode(a.colour, frame).steady && !flags.includes("edges") && !flags.includes("trail") &&
        !ringedNodes(p, e, a.changed).length;
      return steady ? JSON.stringify([[p.run, p.layer, p.graph, p.method].join("/"), a.colour, flags, a.selected,
                                      frame.x.length, p.samples_version]) : null;
    }

    _step(a, e, scalars, frame, S, flags, caption, title, inPlaceOnly) {
      // the cheap ways to show epoch e: already drawn, or a step in place; undefined when a figure must be built
      const noUpdate = window.dash_clientside.no_update;
      const signature = this._signature(a, e, frame, flags);
      const gd = this.plot(), drawn = this.drawn, shown = this.shown;
      if (signature !== null && drawn.signature === signature && drawn.epoch === e && drawn.version === scalars.version &&
          gd && gd.layout && gd.layout.meta && gd.layout.meta.glide === shown.token) {
        return inPlaceOnly ? null : [noUpdate, caption];  // drawn already (by the follower, or before a frame arrived)
      }
      if (signature === null) { return undefined; }
      const glide = this._glides(a, frame, flags);
      const scale = FIG.colourMode(a.colour, frame, S).scale;
      if (this._stepInPlace(a.payload, signature, shown.token + 1, glide, frame, S, title,
                            scale ? frame[scale] : null, flags.includes("size"))) {
        Object.assign(drawn, {epoch: e, version: scalars.version});
        return inPlaceOnly ? null : [noUpdate, caption];
      }
      return undefined;
    }

    _glides(a, frame, flags) {
      // whether the points glide from where they are on screen (this sequence on show, gliding on)
      const p = a.payload, key = [p.run, p.layer, p.graph, p.method].join("/");
      return this.o.glide && flags.includes("glide") && this.shown.key === key && this.shown.x.length === frame.x.length;
    }

    _figure(a, e, scalars, frame, S, flags, caption, at) {
      // a new figure of epoch e, its points starting where they are on screen when they glide
      const payload = a.payload, shown = this.shown;
      const glide = this._glides(a, frame, flags);
      const fromX = glide ? Float64Array.from(shown.x) : Float64Array.from(at.x);
      const fromY = glide ? Float64Array.from(shown.y) : Float64Array.from(at.y);
      const token = ++shown.token;
      Object.assign(shown, {key: [payload.run, payload.layer, payload.graph, payload.method].join("/"),
                            x: Float64Array.from(fromX), y: Float64Array.from(fromY)});
      const selectedAt = a.selected === null || a.selected === undefined ? -1 : S.index.indexOf(a.selected);
      let trail = null;
      if (selectedAt >= 0 && flags.includes("trail")) {
        // the selected sample's path over the epochs so far (display frames are aligned epoch to epoch)
        trail = {x: [], y: []};
        for (let t = 0; t <= e; t++) {
          const f = this.loader.frame(payload, t);  // the epochs the page holds (all of them for a small sequence)
          if (f) { trail.x.push(f.x[selectedAt]); trail.y.push(f.y[selectedAt]); }
        }
      }
      // the samples whose raw neighbourhoods changed most since the last epoch are ringed (the analysis panel's
      // list, once it has arrived for this frame; ringChanged adds or updates the trace when it arrives later)
      const {figure, parts} = FIG.mapFigure(payload, e, frame, S, {
        colour: a.colour, flags: flags, selected: a.selected, edges: a.edges, ringed: ringedNodes(payload, e, a.changed),
        ringLabel: a.changed && a.changed.label,
        trail: trail, x: fromX, y: fromY, meta: {glide: token, aligned: at.aligned},
        box: F.unionBox(payload.frames, e, BOX_REACH)});
      if (this.o.alignTo) {
        Object.assign(figure.layout, {
          title: {text: FIG.plotText(payload.label || payload.run) + " · " + payload.name + " · " + FIG.when(payload, e) + "<br><sub>" + at.note +
                  "</sub>", x: 0.01, font: {size: 13}},
          uirevision: "compare/" + payload.run + "/" + payload.layer, margin: {l: 10, r: 10, t: 50, b: 10},
          showlegend: false});
        if (at.box) {
          figure.layout.xaxis = Object.assign({}, figure.layout.xaxis, {range: at.box[0]});
          figure.layout.yaxis = Object.assign({}, figure.layout.yaxis, {range: at.box[1]});
        }
      }
      const traces = figure.data;
      Object.assign(this.drawn, {signature: this._signature(a, e, frame, flags), parts: parts, epoch: e,
                                 version: scalars.version,
                                 samples: parts.filter(([t]) => traces[t].customdata && traces[t].meta !== "neurons")});
      if (this.o.onDrawn) { this.o.onDrawn(payload); }
      if (glide) { this._glideTo(token, parts, fromX, fromY, frame.x, frame.y); } else if (this.o.glide) { this.moving(false); }
      return [figure, caption];
    }

    _glideTo(token, parts, fromX, fromY, toX, toY, done) {
      // parts: [trace index, node indices]; waits until Dash has put the figure of `token` on the page; calls
      // `done` (if given) once the points stand on the new frame
      const shown = this.shown;
      let started = null;
      const asked = performance.now();
      this.moving(true);
      const tick = now => {
        if (shown.token !== token) { return; }  // a newer frame took over from where this one got to
        const gd = this.plot();
        const ready = gd && gd.layout && gd.layout.meta && gd.layout.meta.glide === token;
        if (!ready) {
          if (now - asked < 2000) { window.requestAnimationFrame(tick); } else { this.moving(false); }
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
          this.moving(false);
          if (done) { done(); }
        }
      };
      window.requestAnimationFrame(tick);
    }

    _stepInPlace(payload, signature, token, glide, frame, S, title, colours, bySize) {
      // An epoch step within one view whose traces keep their members (a steady colour mode): the figure on the
      // page is moved to the new frame with restyles, not rebuilt and handed to Dash (at n = 50,000 a figure of
      // 50,000 points costs Dash and Plotly.react 100-300 ms per step). The hover's per-epoch fields (prediction,
      // confidence, sensitivity) follow once the points stand still. False when the page's map is not the one
      // drawn for `signature`.
      const gd = this.plot(), drawn = this.drawn, shown = this.shown;
      if (drawn.signature !== signature || !gd || !Array.isArray(gd.data) ||
          drawn.parts.some(([t, m]) => !gd.data[t] || gd.data[t].x.length !== m.length)) {
        return false;
      }
      const fromX = glide ? Float64Array.from(shown.x) : Float64Array.from(frame.x);
      const fromY = glide ? Float64Array.from(shown.y) : Float64Array.from(frame.y);
      shown.token = token;
      Object.assign(shown, {x: Float64Array.from(fromX), y: Float64Array.from(fromY)});
      // every call into Plotly redraws all the points (40-80 ms at 50,000): the step makes as few as it can. The
      // samples ringed for the last epoch leave with the points' first move, and the title changes in place (it
      // is drawn from gd.layout on every redraw)
      const ring = gd.data.findIndex(t => t.name === "changed most" && t.x.length);
      const parts = ring >= 0 ? [...drawn.parts, [ring, []]] : drawn.parts;
      const perEpoch = {}, traces = drawn.samples.map(p => p[0]), sens = frame.sens;
      if (colours && traces.some(t => gd.data[t].marker.colorscale)) {  // a colour mode on a scale: its new values
        perEpoch["marker.color"] = drawn.samples.map(([, m]) => m.map(i => colours[i]));
      }
      if (bySize && sens) {
        let maxSens = 1e-12;
        for (let i = 0; i < sens.length; i++) { maxSens = Math.max(maxSens, sens[i]); }
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
        this._glideTo(token, parts, fromX, fromY, frame.x, frame.y, () => window.setTimeout(hover, REST_MS));
      } else {
        Object.assign(shown, {x: Float64Array.from(frame.x), y: Float64Array.from(frame.y)});
        moveNodes(gd, parts, frame.x, frame.y);
        this.moving(false);
        window.setTimeout(hover, REST_MS);
      }
      return true;
    }
  }

  window.EpochScopeMapView = MapView;
})();
