/* EpochScope's data loader: the one way the page's maps get a layer's frames and a run's per-sample arrays.
 *
 * Each epoch's arrays come from GET /frames/<run>/<layer>/<epoch> when a view needs them: the epoch a view shows
 * first, then those around it (EpochScopeFrames.prefetchOrder), at most MAX_FETCHES at a time, kept decoded in a
 * byte-bounded cache under run / layer / graph / method / epoch with the version the server gave them (a frame
 * laid out again has a new one). A run's per-sample arrays come once from GET /samples/<run>.
 *
 * A view that finds what it needs missing asks for it (`want`) and is called back (`view.arrived()`) once it
 * is here: no Dash round trip. Loaded before epochscope.js (window.EpochScopeLoader).
 */
(function () {
  "use strict";
  const F = window.EpochScopeFrames;
  // a fetch that failed is not asked again for RETRY_MS (a damaged epoch answers 410 until the page reads the
  // shorter run; asking again at once made one tab send thousands of requests a minute)
  const MAX_FETCHES = 4, CACHE_BYTES = 192 * 1024 * 1024, RETRY_MS = 15000;

  function base() {
    // the app's path prefix (Dash's requests_pathname_prefix), without its trailing slash
    const config = document.getElementById("_dash-config");
    const prefix = config ? JSON.parse(config.textContent).requests_pathname_prefix : "/";
    return (prefix || "/").replace(/\/$/, "");
  }

  function frameKey(run, layer, graph, method, epoch) { return [run, layer, graph, method, epoch].join("/"); }

  function frameUrl(run, layer, graph, method, epoch, version) {
    return base() + "/frames/" + encodeURIComponent(run) + "/" + layer + "/" + epoch + "?graph=" +
      encodeURIComponent(graph) + "&method=" + encodeURIComponent(method) + (version ? "&v=" + version : "");
  }

  class Loader {
    constructor() {
      this.cache = new F.FrameCache(CACHE_BYTES);
      this.fetching = new Set();
      this.samplesOf = new Map();  // run -> {version, labels, index, scrambled, boxFor, box}
      this.waiting = new Map();  // key -> the views waiting for it
      this.focus = new Map();  // view -> {payload, epoch}: what it shows or waits for, fetched around first
      this.failed = new Map();  // url -> when its fetch last failed
      this.retry = null;  // the timer that asks again for what the views wait for, once failures have rested
    }

    resting(url) {
      // whether the fetch of `url` failed less than RETRY_MS ago (a new version of a frame is another url)
      const at = this.failed.get(url);
      return at !== undefined && Date.now() - at < RETRY_MS;
    }

    _retryLater() {
      if (this.retry !== null) { return; }
      this.retry = setTimeout(() => {
        this.retry = null;
        for (const [view, {payload, epoch}] of this.focus) {
          if (payload && payload.frames && payload.frames[String(epoch)]) { this.want(view, payload, epoch); }
        }
      }, RETRY_MS + 50);
    }

    frame(payload, epoch) {
      // the decoded arrays of a ready epoch in the version the payload names, or undefined while on their way
      const scalars = payload.frames[String(epoch)];
      const found = scalars && this.cache.get(frameKey(payload.run, payload.layer, payload.graph, payload.method, epoch));
      return found && found.version === scalars.version ? found : undefined;
    }

    samples(payload) {
      // the run's per-sample arrays (true class, data-set index, scrambled) and the sequence's box, decoded;
      // undefined while on their way (asked for by `want`)
      const got = this.samplesOf.get(payload.run);
      if (!got || got.version !== payload.samples_version) { return undefined; }
      if (got.boxFor !== payload) { Object.assign(got, {boxFor: payload, box: F.unionBox(payload.frames)}); }
      return got;
    }

    want(view, payload, epoch) {
      // `view` needs the samples and the epoch's frame of `payload`: fetch what is missing and call
      // `view.arrived()` when it is here; also the epochs around the view's focus
      this.focus.set(view, {payload: payload, epoch: epoch});
      if (!this.samples(payload)) {
        this._wait(view, this._fetchSamples(payload));
      } else if (!this.frame(payload, epoch)) {
        this._wait(view, this._fetchFrame(payload, epoch));
      }
      this._prefetch();
    }

    watch(view, payload, epoch) {
      // `view` shows this epoch: prefetch around it
      this.focus.set(view, {payload: payload, epoch: epoch});
      this._prefetch();
    }

    warm(run, layer, graph, method, epoch) {
      // a layer switch: fetch the new layer's frame at the epoch on show at once, beside the server's answer with
      // the layer's sequence (its version is checked against that sequence when both have arrived)
      const key = frameKey(run, layer, graph, method, epoch);
      if (run && Number.isInteger(Number(epoch)) && !this.cache.has(key) && !this.fetching.has(key)) {
        this._fetch(key, frameUrl(run, layer, graph, method, epoch, "") + "&optional=1",
                    body => this.cache.put(key, Object.assign(F.decodeFrame(body), {version: body.version})));
      }
    }

    _wait(view, key) {
      if (!this.waiting.has(key)) { this.waiting.set(key, new Set()); }
      this.waiting.get(key).add(view);
    }

    _fetchSamples(payload) {
      const key = "samples/" + payload.run;
      const url = base() + "/samples/" + encodeURIComponent(payload.run) + "?v=" + payload.samples_version;
      if (!this.fetching.has(key) && !this.resting(url)) {
        this._fetch(key, url, body => this.samplesOf.set(body.run, {version: body.version, labels: F.decode(body.labels),
                                                          index: F.decode(body.index),
                                                          scrambled: F.decode(body.scrambled),
                                                          learned: body.learned ? F.decode(body.learned) : null}));
      }
      return key;
    }

    _fetchFrame(payload, epoch) {
      const key = frameKey(payload.run, payload.layer, payload.graph, payload.method, epoch);
      const url = frameUrl(payload.run, payload.layer, payload.graph, payload.method, epoch,
                           payload.frames[String(epoch)].version);
      if (!this.fetching.has(key) && !this.resting(url)) {
        this._fetch(key, url, body => this.cache.put(key, Object.assign(F.decodeFrame(body), {version: body.version})));
      }
      return key;
    }

    _fetch(key, url, keep) {
      this.fetching.add(key);
      window.fetch(url, {credentials: "same-origin", cache: url.includes("v=") ? "default" : "no-store"})
        .then(r => (r.status === 204 ? null : r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
        .then(body => { if (body) { keep(body); } this.failed.delete(url); this._arrived(key, true); })
        .catch(error => {
          console.warn("EpochScope: could not fetch " + url + ": " + error.message);
          this.failed.set(url, Date.now());
          this._retryLater();
          this._arrived(key, false);
        });
    }

    _arrived(key, ok) {
      // a fetch ended: the views waiting for it draw again (not after a failure, which is not asked again for
      // RETRY_MS; the console says what failed)
      this.fetching.delete(key);
      const views = this.waiting.get(key);
      this.waiting.delete(key);
      if (ok && views) { views.forEach(view => view.arrived()); }
      this._prefetch();
    }

    _prefetch() {
      // keep MAX_FETCHES requests going for the epochs around each view's focus (the first view's first)
      for (const {payload, epoch} of this.focus.values()) {
        if (!payload || !payload.frames) { continue; }
        const ready = Object.keys(payload.frames).map(Number);
        const have = e => this.frame(payload, e) !== undefined ||
          this.fetching.has(frameKey(payload.run, payload.layer, payload.graph, payload.method, e)) ||
          this.resting(frameUrl(payload.run, payload.layer, payload.graph, payload.method, e,
                                payload.frames[String(e)].version));
        for (const e of F.prefetchOrder(ready, epoch, payload.n_nodes, have)) {
          if (this.fetching.size >= MAX_FETCHES) { return; }
          this._fetchFrame(payload, e);
        }
      }
    }
  }

  window.EpochScopeLoader = Loader;
})();
