"""Scrubbing speed in a real browser: time from an epoch-slider key press to the redrawn map.

    python -m benchmarks.ui_bench [--store DIR] [--steps 60] [--n 50000]

On the default run (n = 1,797 probe samples), or with ``--n`` on the default MLP over MNIST-1D with n probe
samples (:func:`benchmarks.common.scale_config`; trained and laid out first if the store lacks it), it starts
``app.py`` as a user does, opens it in headless Debian Chromium, waits for every frame, then presses the
epoch slider's arrow keys ``--steps`` times on each of the first two layers (forward, then back), timing each
step in the page: from the ``keydown`` event to Plotly's ``plotly_afterplot`` of the redrawn map (the first
redraw: the points start to glide), and to the end of the glide (the map's ``data-glide`` turns ``still``: the
points stand on the new frame). It also times a layer switch (one key press on the layer slider, to a layer
whose frames the page has not fetched), the bytes the page fetched per epoch, and the page's memory (the
JavaScript heap, and the resident memory of Chromium's processes). Prints a table and last
``RESULT n=<n> slider_median_ms=<f> slider_p95_ms=<f> settled_median_ms=<f> layer_switch_ms=<f>
epoch_bytes=<n> js_heap_mb=<f> renderer_rss_mb=<f> chromium_rss_mb=<f>``.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException
from selenium.webdriver.common.keys import Keys

from benchmarks.common import answers, free_port, prepare_default_run, scale_config
from models.data import MAX_PROBE
from models.store import default_store_dir

logger = logging.getLogger("benchmarks.ui_bench")
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1366,768")

#: records the time of the last keydown, and of the map's first redraw after it, in the page's clock
HOOK = """
window.__es = {key: 0, plot: 0, still: 0};
document.addEventListener('keydown', () => { window.__es.key = performance.now(); }, true);
const gd = document.querySelector('#map .js-plotly-plot');
gd.on('plotly_afterplot', () => {
  // the first redraw after the key press (one drawn before it, by a restyle of the rested epoch, is not it)
  if (window.__es.key && !window.__es.plot) { window.__es.plot = performance.now(); }
});
new MutationObserver(() => {
  if (document.getElementById('map').dataset.glide === 'still') { window.__es.still = performance.now(); }
}).observe(document.getElementById('map'), {attributes: true, attributeFilter: ['data-glide']});
"""


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    for binary in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(binary):
            options.binary_location = binary
    return webdriver.Chrome(options=options)


def wait(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = predicate()
        except NoSuchElementException:  # the page has not rendered it yet
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def step(driver, thumb, key: str) -> tuple[float, float]:
    """Press ``key`` on the focused slider thumb; milliseconds from keydown to the map's first redraw, and to
    the end of its glide."""
    driver.execute_script("window.__es.plot = 0; window.__es.key = 0; window.__es.still = 0;")
    thumb.send_keys(key)
    wait(lambda: driver.execute_script("const e = window.__es; return e.key > 0 && e.plot > e.key && e.still > e.key;"),
         30, "the map to redraw and stand still")
    return tuple(driver.execute_script("const e = window.__es; return [e.plot - e.key, e.still - e.key];"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help=f"store directory (default {default_store_dir()})")
    parser.add_argument("--steps", type=int, default=60, help="key presses per layer, 2..1000 (default %(default)s)")
    parser.add_argument("--n", type=int, default=None,
                        help=f"probe samples of an MNIST-1D run, 20..{MAX_PROBE} (default: the default run on digits)")
    args = parser.parse_args(argv)
    if not 2 <= args.steps <= 1000:
        parser.error(f"argument --steps: must be in 2..1000, got {args.steps}")
    if args.n is not None and not 20 <= args.n <= MAX_PROBE:
        parser.error(f"argument --n: must be in 20..{MAX_PROBE}, got {args.n}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store_dir = Path(args.store or default_store_dir())
    config = scale_config(args.n)
    info, ready, _ = prepare_default_run(store_dir, config)
    logger.info("%d frames ready", ready)

    port = free_port()
    server_log = tempfile.NamedTemporaryFile("w+", prefix="ui_bench-server-", suffix=".log", delete=False)
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--store", str(store_dir),
                               "--run", info.run_id], cwd=ROOT,
                              stdout=server_log, stderr=subprocess.STDOUT)
    driver = None
    try:
        wait(lambda: answers(f"http://127.0.0.1:{port}/"), 60, "the server")
        driver = browser()
        driver.execute_cdp_cmd("Performance.enable", {})
        driver.get(f"http://127.0.0.1:{port}/")
        # the caption names the layout's silhouette once the frame is drawn (not while it is on its way)
        wait(lambda: "epoch 0: class silhouette" in driver.find_element("id", "frame-info").text, 120, "the first map")
        rows = []
        for layer in (0, 1):
            if layer:  # one key press: the next layer, whose frames the page has not fetched yet
                layer_thumb = driver.find_element("css selector", "#layer-slider [role=slider]")
                layer_thumb.click()
                driver.execute_script(HOOK)
                t0 = time.perf_counter()
                layer_thumb.send_keys(Keys.ARROW_RIGHT)
                def switched(layer: int = layer) -> bool:
                    text = driver.find_element("id", "frame-info").text
                    return f"{config.layer_names[layer]} (" in text and "silhouette" in text

                wait(switched, 60, "the layer switch")
                rows.append(("layer switch", [1000 * (time.perf_counter() - t0)]))
            thumb = driver.find_element("css selector", "#epoch-slider [role=slider]")
            thumb.click()
            driver.execute_script(HOOK)
            half = args.steps // 2
            times = [step(driver, thumb, Keys.ARROW_RIGHT) for _ in range(half)]
            times += [step(driver, thumb, Keys.ARROW_LEFT) for _ in range(args.steps - half)]
            rows.append((f"epoch steps on {config.layer_names[layer]}", [t[0] for t in times]))
            rows.append(("  ...glide settled", [t[1] for t in times]))
        epoch_bytes = driver.execute_script(
            "const f = performance.getEntriesByType('resource').filter(r => r.name.includes('/frames/'));"
            "return f.length ? f.reduce((s, r) => s + r.encodedBodySize, 0) / f.length : 0;")
        heap = driver.execute_cdp_cmd("Performance.getMetrics", {})  # after enable below
        js_heap_mb = next((m["value"] for m in heap.get("metrics", []) if m["name"] == "JSHeapUsedSize"), 0) / 2 ** 20
        renderer_mb, rss_mb = (b / 2 ** 20 for b in chromium_rss())
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(timeout=10)

    steps = [t for name, ts in rows if name.startswith("epoch") for t in ts]
    settled = [t for name, ts in rows if name.endswith("settled") for t in ts]
    print(f"\nuptime: {os.popen('uptime').read().strip()}   n = {info.n_probe} samples, {ready} frames")
    print(f"{'what':<22}{'n':>5}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}")
    for name, ts in rows:
        print(f"{name:<22}{len(ts):>5}{np.median(ts):>11.1f}{np.percentile(ts, 95):>9.1f}{max(ts):>9.1f}")
    print(f"browser console errors: {len(errors)}")
    for error in errors:
        print(f"  {error.get('message', error)}")
    problems = [line.rstrip() for line in open(server_log.name) if "WARNING" in line or "ERROR" in line]
    print(f"server warnings and errors: {len(problems)} (log: {server_log.name})")
    for line in problems[:10]:
        print(f"  {line}")
    switch = [t for name, ts in rows if name == "layer switch" for t in ts]
    print(f"fetched per epoch: {epoch_bytes / 1e3:.1f} kB · page memory: JS heap {js_heap_mb:.0f} MB, the page's "
          f"renderer process {renderer_mb:.0f} MB resident (all of Chromium's processes {rss_mb:.0f} MB)")
    print(f"RESULT n={info.n_probe} slider_median_ms={np.median(steps):.1f} "
          f"slider_p95_ms={np.percentile(steps, 95):.1f} settled_median_ms={np.median(settled):.1f} "
          f"layer_switch_ms={max(switch, default=float('nan')):.0f} epoch_bytes={epoch_bytes:.0f} "
          f"js_heap_mb={js_heap_mb:.0f} renderer_rss_mb={renderer_mb:.0f} chromium_rss_mb={rss_mb:.0f}")


def chromium_rss() -> tuple[int, int]:
    """Resident bytes of Chromium's renderer processes (the page), and of all its processes (browser, GPU,
    utilities too), on this machine (the benchmark's browser is the only one)."""
    renderer = total = 0
    for process in psutil.process_iter(["name", "cmdline", "memory_info"]):
        name = process.info["name"] or ""
        if "chrom" in name and "driver" not in name and process.info["memory_info"]:
            total += process.info["memory_info"].rss
            if "--type=renderer" in " ".join(process.info["cmdline"] or []):
                renderer += process.info["memory_info"].rss
    return renderer, total


if __name__ == "__main__":
    main()
