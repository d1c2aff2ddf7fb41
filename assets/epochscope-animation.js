/* EpochScope's HTML animation export: the page's own figure code (epochscope-frames.js, epochscope-figure.js,
 * inlined beside this file and plotly.js by dashboard/export.py animation_html) drawing a layer's epochs from the
 * data embedded in the file, in the colour mode chosen when exported. Play / pause and an epoch slider; no
 * network. Not loaded by the page (the page's assets folder serves it, the page never calls it). */
(function () {
  "use strict";
  const F = window.EpochScopeFrames, FIG = window.EpochScopeFigure;
  const data = JSON.parse(document.getElementById("epochscope-data").textContent);
  const payload = data.sequence;
  const samples = {labels: F.decode(data.samples.labels), index: F.decode(data.samples.index),
                   scrambled: F.decode(data.samples.scrambled),
                   learned: data.samples.learned ? F.decode(data.samples.learned) : null, box: F.unionBox(payload.frames)};
  const epochs = Object.keys(data.frames).map(Number).sort((a, b) => a - b);
  const frames = new Map(epochs.map(e => [e, F.decodeFrame(data.frames[String(e)])]));
  const graph = document.getElementById("map"), slider = document.getElementById("epoch");
  const label = document.getElementById("epoch-label"), play = document.getElementById("play");
  let timer = null;

  function show(at) {
    const e = epochs[at], frame = frames.get(e);
    const figure = FIG.mapFigure(payload, e, frame, samples, {colour: data.colour, flags: [], selected: null,
                                                              x: frame.x, y: frame.y,
                                                              box: F.unionBox(payload.frames, e, 2)}).figure;
    figure.layout.title.text = data.title + " · " + FIG.when(payload, e);
    window.Plotly.react(graph, figure.data, figure.layout, {displaylogo: false});
    graph.dataset.epoch = String(e);
    label.textContent = FIG.when(payload, e);
    slider.value = String(at);
  }

  function stop() {
    window.clearInterval(timer);
    timer = null;
    play.textContent = "Play";
  }

  slider.max = String(epochs.length - 1);
  slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
  play.addEventListener("click", () => {
    if (timer !== null) { stop(); return; }
    play.textContent = "Pause";
    if (Number(slider.value) >= epochs.length - 1) { show(0); }
    timer = window.setInterval(() => {
      const next = Number(slider.value) + 1;
      if (next >= epochs.length) { stop(); return; }
      show(next);
    }, data.interval_ms);
  });
  show(0);
})();
