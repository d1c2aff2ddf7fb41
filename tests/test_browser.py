"""End to end in headless Chromium: the page trains nothing (the run is stored), lays out the frames in a
background job, shows the map, and redraws it as the sliders and the play button move."""

import os
import re
import shutil
import time
from dataclasses import replace

import pytest
from selenium.common.exceptions import NoSuchElementException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.factory import create_app
from dashboard.vocab import COLOUR_MODES
from derived.keys import layout_key
from frames import index as frames_index
from frames.prepare import prepare_lock
from layout_engine.params import LayoutParams
from models.store import RunStore

pytestmark = pytest.mark.browser

#: the engine's defaults: its gentle steps need their iterations, and the gallery shows what a user sees (a tiny
#: run's frames take about 0.1 s each)
FAST = LayoutParams()
SCREENSHOTS = os.environ.get("EPOCHSCOPE_SCREENSHOTS")


def first_xs(dash_duo) -> list[float]:
    return dash_duo.driver.execute_script(
        "const gd = document.querySelector('#map .js-plotly-plot');"
        "return gd && gd._fullData && gd._fullData.length ? Array.from(gd._fullData[0].x).slice(0, 8) : null;")


#: what each colour mode's sample traces are named (the tiny run: classes 0-9, no scrambled sample)
MODE_TRACES = {
    "class": lambda names: names == [str(c) for c in range(10)],
    "predicted": lambda names: bool(names) and all(n.startswith("predicted ") for n in names),
    "correct": lambda names: bool(names) and set(names) <= {"correct", "wrong"},
    "sensitivity": lambda names: names == ["sensitivity"],
    "scrambled": lambda names: names == ["clean"],
    "learned": lambda names: bool(names) and all(n.startswith("learned at") or n == "not learned" for n in names),
}


def start_on_trained_run(dash_duo, trained_store_dir, tiny_config, tmp_path) -> None:
    """Serve the app on a private copy of the session's trained store (no frames laid out yet)."""
    store_dir = tmp_path / "store"
    shutil.copytree(trained_store_dir, store_dir)
    dash_duo.start_server(create_app(store_dir=store_dir, config=tiny_config, params=FAST))


def screenshot(dash_duo, name: str, at: str | None = None) -> None:
    """Save ``name``.png in $EPOCHSCOPE_SCREENSHOTS when set, to look at (the element ``at``, a CSS selector,
    scrolled to the top of the window first)."""
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        if at is not None:
            dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'start'});",
                                           dash_duo.find_element(at))
        dash_duo.driver.save_screenshot(os.path.join(SCREENSHOTS, f"{name}.png"))


def choose(dash_duo, dropdown_id: str, label_start: str) -> None:
    """Open a dropdown and click its first option whose label starts with ``label_start``."""
    dash_duo.find_element(f"#{dropdown_id}").click()
    WebDriverWait(dash_duo.driver, 10).until(lambda d: next(
        (o for o in d.find_elements("css selector", "[role=option]") if o.text.startswith(label_start)), None)).click()


def press(dash_duo, slider_id: str, key: str) -> None:
    thumb = dash_duo.find_element(f"#{slider_id} [role=slider]")
    thumb.click()
    thumb.send_keys(key)


def test_scrub_layers_and_epochs_and_play(dash_duo, trained_store_dir, tiny_config, tmp_path):
    start_on_trained_run(dash_duo, trained_store_dir, tiny_config, tmp_path)
    dash_duo.driver.set_window_size(1366, 768)  # a laptop screen: the page must read at this size

    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 0", timeout=60)
    markers = dash_duo.driver.execute_script(
        "return document.querySelector('#map .js-plotly-plot')._fullData.reduce((n, t) => n + t.x.length, 0);")
    assert markers == 240
    dash_duo.wait_for_contains_text("#job-message", "8/8 frames ready", timeout=60)
    before = first_xs(dash_duo)

    # moving to another epoch, the points glide: several redraws, each a step between the two frames
    dash_duo.driver.execute_script(
        "window.__xs = []; document.querySelector('#map .js-plotly-plot')"
        ".on('plotly_restyle', () => window.__xs.push(document.querySelector('#map .js-plotly-plot')"
        "._fullData[0].x[0]));")
    press(dash_duo, "epoch-slider", Keys.END)
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 3", timeout=20)
    dash_duo.wait_for_element("#map[data-glide='still']", timeout=10)
    after = first_xs(dash_duo)
    assert after is not None and after != before, "the map did not change with the epoch"
    xs = dash_duo.driver.execute_script("return window.__xs;")
    assert len(xs) >= 3 and xs[-1] == pytest.approx(after[0])
    assert all(min(before[0], after[0]) - 1e-9 <= x <= max(before[0], after[0]) + 1e-9 for x in xs)
    assert len(set(xs)) >= 3, "the points jumped instead of gliding"
    # without the glide the same frame is drawn at once, where the glide ended
    dash_duo.find_element("#map-flags input[value='glide']").click()
    press(dash_duo, "epoch-slider", Keys.HOME)
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 0", timeout=20)
    assert first_xs(dash_duo) == pytest.approx(before)
    press(dash_duo, "epoch-slider", Keys.END)
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 3", timeout=20)
    assert first_xs(dash_duo) == pytest.approx(after)
    dash_duo.find_element("#map-flags input[value='glide']").click()

    press(dash_duo, "layer-slider", Keys.END)
    dash_duo.wait_for_contains_text("#frame-info", "h2 (12 units), epoch 3", timeout=20)
    assert first_xs(dash_duo) != after

    press(dash_duo, "epoch-slider", Keys.HOME)
    dash_duo.wait_for_contains_text("#frame-info", "h2 (12 units), epoch 0", timeout=20)
    # Play: record what the page shows as it plays (a step may be shown too briefly to poll under load)
    dash_duo.driver.execute_script("""
        window.__played = []; window.__buttons = [];
        const note = () => {
            const m = document.getElementById('frame-info').textContent.match(/epoch (\\d+)/);
            if (m && window.__played[window.__played.length - 1] !== Number(m[1])) window.__played.push(Number(m[1]));
            window.__buttons.push(document.getElementById('play-button').textContent);
        };
        const watch = {childList: true, subtree: true, characterData: true};
        new MutationObserver(note).observe(document.getElementById('frame-info'), watch);
        new MutationObserver(note).observe(document.getElementById('play-button'), watch);""")
    choose(dash_duo, "play-speed", "2x")  # 350 ms an epoch (the server's base interval, halved in the browser)
    dash_duo.find_element("#play-button").click()
    dash_duo.wait_for_contains_text("#frame-info", "h2 (12 units), epoch 3", timeout=20)
    dash_duo.wait_for_text_to_equal("#play-button", "▶ Play", timeout=10)  # stops at the last epoch
    played = dash_duo.driver.execute_script("return window.__played;")
    assert "❚❚ Pause" in dash_duo.driver.execute_script("return window.__buttons;")
    assert played == sorted(played) and played[-1] == 3 and any(0 < e < 3 for e in played), played

    screenshot(dash_duo, "scrub")
    assert dash_duo.get_logs() == []


def test_hover_names_the_sample_and_its_labels(dash_duo, trained_store_dir, tiny_config, tmp_path):
    start_on_trained_run(dash_duo, trained_store_dir, tiny_config, tmp_path)
    dash_duo.wait_for_contains_text("#job-message", "8/8 frames ready", timeout=60)  # no redraw under the mouse
    dash_duo.wait_for_contains_text("#frame-info", "epoch 0", timeout=60)
    # the whole map in the window: W3C pointer offsets count from the centre of an element's visible part
    dash_duo.driver.set_window_size(1366, 1600)
    time.sleep(0.5)
    # the point of class 0 farthest from every other point, from the top-left of the plot area (the drag
    # layer); selenium 4.2 (pinned by dash[testing]) measures element offsets from the top-left corner
    dx, dy = dash_duo.driver.execute_script("""
        const gd = document.querySelector('#map .js-plotly-plot');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const all = gd._fullData.flatMap((t, c) => Array.from(t.x).map((x, i) => [xa.l2p(x), ya.l2p(t.y[i]), c]));
        let best = null, bestGap = -1;
        for (const p of all.filter(p => p[2] === 0)) {
            const gap = Math.min(...all.filter(q => q !== p).map(q => Math.hypot(p[0] - q[0], p[1] - q[1])));
            if (gap > bestGap) { bestGap = gap; best = p; }
        }
        return [best[0], best[1]];""")
    ActionChains(dash_duo.driver).move_to_element_with_offset(
        dash_duo.find_element("#map .nsewdrag"), int(dx), int(dy)).perform()
    text = WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script(
        "const l = document.querySelector('#map .hoverlayer'); return l && l.textContent;"))
    assert "sample" in text and "true 0" in text and "predicted" in text
    assert dash_duo.get_logs() == []


def test_progress_shows_while_the_job_runs_and_cancel_stops_it(dash_duo, tmp_path):
    from models.config import RunConfig
    from models.store import RunStore

    config = RunConfig(hidden=(32, 16, 8), epochs=200, probe_size=900, seed=2)  # ~20 s of training on 2 cores
    dash_duo.start_server(create_app(store_dir=tmp_path / "store", config=config))
    dash_duo.wait_for_element("#job-cancel:not([disabled])", timeout=30)
    assert "done" not in dash_duo.find_element("#job-progress").get_attribute("class")
    store = RunStore(tmp_path / "store")

    def laid_out_while_training(driver):  # the frames are laid out as the epochs are trained, beside the training
        found = re.search(r"Training: (\d+)/200", driver.find_element("id", "job-message").text)
        if not (found and store.has_run(config.run_id)):
            return False
        info = store.run_info(config.run_id)
        return info.state == "training" and frames_index.count_ready(store, info, LayoutParams()) >= 3 * 4

    WebDriverWait(dash_duo.driver, 90, poll_frequency=0.2).until(laid_out_while_training)
    dash_duo.find_element("#job-cancel").click()
    dash_duo.wait_for_element("#job-cancel[disabled]", timeout=20)

    def job_gone(_driver) -> bool:  # the job's lock is free once its process has left prepare (or died)
        if not store.try_lock(prepare_lock(config.run_id, LayoutParams()), "test:probe", 1.0):
            return False
        store.release_lock(prepare_lock(config.run_id, LayoutParams()), "test:probe")
        return store.run_info(config.run_id).state != "training"

    WebDriverWait(dash_duo.driver, 30, poll_frequency=0.1).until(job_gone)
    info = store.run_info(config.run_id)
    ready = frames_index.count_ready(store, info, LayoutParams())
    store.close()
    # stopped part-way, training and layout alike; what was done is kept, and the run resumes when shown again
    assert info.state == "interrupted" and 3 * 4 <= ready <= 3 * info.epochs_done and info.epochs_done < 201, \
        (ready, info.epochs_done)
    assert dash_duo.get_logs() == []


def point_offset(dash_duo, trace: int = 0, point: int = 0) -> tuple[int, int]:
    """Where a point of the map is, from the top-left of its plot area (the drag layer), once it stands still."""
    dash_duo.wait_for_element("#map[data-glide='still']", timeout=10)
    dx, dy = dash_duo.driver.execute_script(f"""
        const gd = document.querySelector('#map .js-plotly-plot');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, t = gd._fullData[{trace}];
        return [xa.l2p(t.x[{point}]), ya.l2p(t.y[{point}])];""")
    return int(dx), int(dy)


def test_the_researchers_path_colour_click_inspect_and_share_the_view(dash_duo, trained_store_dir, tiny_config,
                                                                       tmp_path):
    start_on_trained_run(dash_duo, trained_store_dir, tiny_config, tmp_path)
    dash_duo.wait_for_contains_text("#job-message", "8/8 frames ready", timeout=60)
    press(dash_duo, "epoch-slider", Keys.END)
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 3", timeout=20)

    # colour by sensitivity: one trace with a colour scale instead of one per class
    dash_duo.find_element("#colour-by input[value='sensitivity']").click()
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script(
        "const gd = document.querySelector('#map .js-plotly-plot');"
        "const samples = gd._fullData.filter(t => t.name !== 'changed most');"  # the analysis panel's rings
        "return samples.length === 1 && Array.isArray(samples[0].marker.color);"))

    # click a node: the inspector names the sample, its labels, sensitivity and neighbours
    dx, dy = point_offset(dash_duo)
    ActionChains(dash_duo.driver).move_to_element_with_offset(
        dash_duo.find_element("#map .nsewdrag"), dx, dy).click().perform()
    dash_duo.wait_for_contains_text("#inspector-body", "Sample", timeout=20)
    body = dash_duo.find_element("#inspector-body").text
    assert "true class" in body and "predicted" in body and "sensitivity" in body and "at h1, epoch 3" in body
    sample = body.split("Sample ")[1].split()[0]
    assert f"sample={sample}" in dash_duo.driver.current_url and "colour=sensitivity" in dash_duo.driver.current_url
    # the selected node is ringed on the map
    assert dash_duo.driver.execute_script(
        "return document.querySelector('#map .js-plotly-plot')._fullData.some(t => t.name === 'selected');")

    # a neighbour is clickable and becomes the selected sample
    neighbour = dash_duo.find_element(".neighbours button")
    other = neighbour.text.split(" ·")[0]
    neighbour.click()
    dash_duo.wait_for_contains_text("#inspector-body", f"Sample {other}", timeout=20)
    WebDriverWait(dash_duo.driver, 10).until(lambda d: f"sample={other}" in d.current_url)

    # the trail draws the selected sample's path over epochs 0..3
    dash_duo.find_element("#map-flags input[value='trail']").click()
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script(
        "const t = document.querySelector('#map .js-plotly-plot')._fullData.find(t => t.name === 'trail');"
        "return t && t.x.length === 4;"))

    # export the frame as CSV and its graph as GraphML: real downloads
    dash_duo.find_element("#export-csv").click()
    dash_duo.find_element("#export-graphml").click()
    folder = dash_duo.download_path
    WebDriverWait(dash_duo.driver, 20).until(lambda d: len([f for f in os.listdir(folder)
                                                            if f.endswith((".csv", ".graphml"))]) == 2)
    dash_duo.find_element("#export-html").click()
    dash_duo.find_element("#export-png").click()
    WebDriverWait(dash_duo.driver, 60).until(lambda d: {os.path.splitext(f)[1] for f in os.listdir(folder)}
                                             >= {".csv", ".graphml", ".html", ".png"})
    # the images are drawn by kaleido from the figure on screen: a PNG, and an SVG with a vector point per sample;
    # each file named by the run's name (and titled with it)
    stem = "mlp-24-12-on-digits-seed-1-h1-epoch3"
    with open(os.path.join(folder, f"{stem}.png"), "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    dash_duo.find_element("#export-svg").click()
    WebDriverWait(dash_duo.driver, 60).until(lambda d: any(f.endswith(".svg") for f in os.listdir(folder)))
    with open(os.path.join(folder, f"{stem}.svg")) as fh:
        svg = fh.read()
    assert svg.startswith("<svg") and len(re.findall(r'class="point[ "]', svg)) >= 240
    assert "MLP 24-12 on digits, seed 1 · h1 (24 units)" in svg
    csv_file = next(f for f in os.listdir(folder) if f.endswith(".csv"))
    with open(os.path.join(folder, csv_file)) as fh:
        lines = fh.read().splitlines()
    assert lines[0].startswith("node,sample,x,y,true_class") and len(lines) == 241 and csv_file.endswith("epoch3.csv")

    # copy the URL, open it again: the same view
    url = dash_duo.driver.current_url
    dash_duo.driver.get(url)
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 3", timeout=30)
    dash_duo.wait_for_contains_text("#inspector-body", f"Sample {other}", timeout=20)
    assert dash_duo.find_element("#colour-by input[value='sensitivity']").is_selected()

    # the training curves jump the epoch slider
    dash_duo.wait_for_element("#training-curves .js-plotly-plot", timeout=20)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const gd = document.querySelector('#training-curves .js-plotly-plot');"
        "return gd && gd._fullData && gd._fullData.length >= 3;"))
    dash_duo.driver.execute_script(
        "const gd = document.querySelector('#training-curves .js-plotly-plot');"
        "gd.emit('plotly_click', {points: [{x: 1, y: 0, curveNumber: 0, pointNumber: 1}]});")
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 1", timeout=20)
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script(  # and the curves mark epoch 1
        "const gd = document.querySelector('#training-curves .js-plotly-plot');"
        "return gd.layout.shapes.find(s => s.name === 'epoch').x0 === 1;"))

    screenshot(dash_duo, "inspect")
    assert dash_duo.get_logs() == []


def test_a_bad_url_names_the_field_and_shows_the_default_view(dash_duo, trained_store_dir, tiny_config, tmp_path):
    start_on_trained_run(dash_duo, trained_store_dir, tiny_config, tmp_path)
    dash_duo.driver.get(dash_duo.server_url + "/?layer=9&epoch=x&colour=rainbow")
    dash_duo.wait_for_contains_text("#url-problems", "layer must be in 0..1, got 9", timeout=30)
    text = dash_duo.find_element("#url-problems").text
    assert "epoch must be a whole number, got 'x'" in text and "colour must be one of" in text
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 0", timeout=60)
    assert dash_duo.get_logs() == []


#: the pixel position of the neuron (live, or dead on the row below the map) farthest from every sample on the
#: map (an unambiguous click: live neurons can sit within a marker's width of a sample)
FARTHEST_NEURON = """
        const gd = document.querySelector('#map .js-plotly-plot');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const neurons = gd._fullData.filter(o => o.meta === 'neurons')
            .flatMap(o => Array.from(o.x).map((x, i) => [xa.l2p(x), ya.l2p(o.y[i])]));
        const others = gd._fullData.filter(o => o.meta !== 'neurons' && o.name !== 'edges')
            .flatMap(o => Array.from(o.x).map((x, i) => [xa.l2p(x), ya.l2p(o.y[i])]));
        let best = null, bestGap = -1;   // the neuron farthest from every sample, so the click is unambiguous
        for (const p of neurons) {
            const gap = Math.min(...others.map(q => Math.hypot(p[0] - q[0], p[1] - q[1])));
            if (gap > bestGap) { bestGap = gap; best = p; }
        }
        return best;"""


def test_the_neuron_x_sample_graph_and_a_reference_method(dash_duo, trained_store_dir, tiny_config, tmp_path):
    start_on_trained_run(dash_duo, trained_store_dir, tiny_config, tmp_path)
    dash_duo.wait_for_contains_text("#job-message", "8/8 frames ready", timeout=60)
    press(dash_duo, "epoch-slider", Keys.END)  # the last epoch on show: the neuron graph starts there
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 3", timeout=20)
    dash_duo.find_element("#graph-mode input[value='bipartite']").click()
    dash_duo.wait_for_contains_text("#graph-job-message", "4/4 frames ready", timeout=60)
    store = RunStore(tmp_path / "store")
    bipartite = replace(FAST, graph="bipartite")
    first = layout_key(store.activations(tiny_config.run_id, 3, 0), bipartite.digest(), None)  # a cold layout
    assert store.indexed_frame(tiny_config.run_id, frames_index.sequence_id(bipartite), 0, 3) == first
    store.close()
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const gd = document.querySelector('#map .js-plotly-plot');"
        "const t = gd._fullData.find(t => t.name === 'neurons');"
        "const units = gd._fullData.filter(t => t.meta === 'neurons').reduce((n, t) => n + t.x.length, 0);"
        "return t && units === 24 && t.marker.color === '#000';"))  # h1's 24 neurons, black (the live ones)
    samples = dash_duo.driver.execute_script(
        "return document.querySelector('#map .js-plotly-plot')._fullData"
        ".filter(t => t.meta !== 'neurons' && !['edges', 'changed most'].includes(t.name))"
        ".reduce((n, t) => n + t.x.length, 0);")
    assert samples == 240
    # click a neuron: the inspector shows its class selectivity and the samples it responds to most
    dash_duo.driver.set_window_size(1366, 1600)  # the whole map in view (see the hover test)

    def neuron_target(driver):  # where to click, once the map stands still and has taken its new size
        driver.find_element("css selector", "#map[data-glide='still']")
        first = driver.execute_script(FARTHEST_NEURON)
        time.sleep(0.3)
        return first if driver.execute_script(FARTHEST_NEURON) == first else None

    for attempt in range(3):  # under the whole suite's load the page can still move between aim and click
        dx, dy = WebDriverWait(dash_duo.driver, 20, poll_frequency=0.2,
                               ignored_exceptions=(NoSuchElementException,)).until(neuron_target)
        ActionChains(dash_duo.driver).move_to_element_with_offset(
            dash_duo.find_element("#map .nsewdrag"), int(dx), int(dy)).click().perform()
        try:
            dash_duo.wait_for_contains_text("#inspector-body", "Neuron", timeout=10)
            break
        except TimeoutException:
            if attempt == 2:
                raise
    text = dash_duo.find_element("#inspector-body").text
    assert "of h1, epoch 3" in text and ("class selectivity" in text or "dead" in text)
    assert ("dead" in text) != ("activate it most" in text)  # a dead unit lists no samples: none activates it
    dash_duo.find_element("#map-flags input[value='edges']").click()
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const t = document.querySelector('#map .js-plotly-plot')._fullData.find(t => t.name === 'edges');"
        "return t && t.x.length > 3 * 240;"))  # every sample links to >= top_k = 3 neurons
    screenshot(dash_duo, "bipartite")
    # a reference method lays out samples only: it says so, then PCA on the samples graph shows no neurons
    dash_duo.find_element("#method input[value='pca']").click()
    WebDriverWait(dash_duo.driver, 20).until(lambda d: "lays out samples only" in d.execute_script(
        "const gd = document.querySelector('#map .js-plotly-plot');"
        "return (gd.layout.annotations || []).map(a => a.text).join(' ');"))
    dash_duo.find_element("#graph-mode input[value='knn']").click()
    dash_duo.wait_for_contains_text("#graph-job-message", "PCA of h1: 4/4 frames ready", timeout=60)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const gd = document.querySelector('#map .js-plotly-plot');"
        "return !gd._fullData.some(t => t.name === 'neurons') &&"
        " gd._fullData.filter(t => !['edges', 'changed most'].includes(t.name))"
        "   .reduce((n, t) => n + t.x.length, 0) === 240;"))
    assert "method=pca" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []


def test_pick_a_sweep_and_sweep_beta(dash_duo, tmp_path):
    from models.config import RunConfig
    from models.store import RunStore
    from models.sweep import run_sweep, sweep_runs
    from models.train import train

    store = RunStore(tmp_path / "store")
    base = RunConfig(model="vae", hidden=(16,), latent=2, epochs=2, probe_size=120, lr=3e-3)
    sid = run_sweep(base, store, betas=(0.0, 4.0))
    runs = dict(sweep_runs(store, sid))
    mlp = RunConfig(hidden=(8, 8, 8), epochs=4, probe_size=120)
    train(mlp, store)
    store.close()
    dash_duo.start_server(create_app(store_dir=tmp_path / "store", config=mlp, params=FAST))
    dash_duo.driver.set_window_size(1366, 900)
    dash_duo.wait_for_contains_text("#job-message", "15/15 frames ready", timeout=60)
    press(dash_duo, "layer-slider", Keys.END)
    press(dash_duo, "epoch-slider", Keys.END)
    dash_duo.wait_for_contains_text("#frame-info", "h3 (8 units), epoch 4", timeout=30)
    # the sweep is an entry of its own in the run picker: choosing it shows its run of lowest beta, and the
    # sliders come within the new run's layers (e1, z) and epochs (0..2)
    choose(dash_duo, "run-picker", "Sweep: beta-VAE")
    dash_duo.wait_for_contains_text("#run-name", runs[0.0], timeout=20)
    dash_duo.wait_for_contains_text("#job-message", "6/6 frames ready", timeout=60)  # e1 and z, epochs 0..2
    dash_duo.wait_for_contains_text("#frame-info", "z (2 units), epoch 2", timeout=30)
    press(dash_duo, "layer-slider", Keys.HOME)
    press(dash_duo, "epoch-slider", Keys.HOME)
    dash_duo.wait_for_contains_text("#frame-info", "e1 (16 units), epoch 0", timeout=30)
    assert "beta 0" in dash_duo.find_element("#run-name").text
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.find_element("id", "beta-row").is_displayed())
    marks = [m.text for m in dash_duo.driver.find_elements("css selector", "#beta-slider .dash-slider-mark")]
    assert marks == ["0", "4"]
    # the beta-VAE panel: KL per dimension, active units against beta, collapse in words
    dash_duo.wait_for_contains_text("#collapse-message", "beta 0", timeout=20)
    assert dash_duo.driver.find_elements("css selector", "#vae-panel .js-plotly-plot")
    # both active-unit criteria named; the decoder Jacobian's coherence over epochs and over the sweep (beta 0
    # and 4); a latent traversal per active latent, seven steps each, when there is an active latent
    assert "by the KL per dimension" in dash_duo.find_element("#criteria-message").text
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const gd = document.querySelector('#coherence-figure .js-plotly-plot');"
        "return gd && gd._fullData.length === 3 && gd._fullData[0].x.length === 3"
        " && JSON.stringify(Array.from(gd._fullData[2].x)) === JSON.stringify(['0', '4']);"))
    press(dash_duo, "epoch-slider", Keys.END)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const h = document.querySelector('#vae-panel h3'); return h && h.textContent.endsWith('epoch 2');"))
    traversal_rows = WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const gd = document.querySelector('#traversals .js-plotly-plot');"
        "return gd ? gd._fullData.filter(t => t.type === 'heatmap').length : 0;"))
    assert traversal_rows % 7 == 0  # beta 0, epoch 2: an autoencoder keeps its latents
    press(dash_duo, "epoch-slider", Keys.HOME)
    press(dash_duo, "beta-slider", Keys.ARROW_RIGHT)  # a key steps from beta to beta: the next one is 4
    dash_duo.wait_for_contains_text("#run-name", "beta 4", timeout=20)
    dash_duo.wait_for_contains_text("#job-message", "6/6 frames ready", timeout=60)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: runs[4.0] in d.current_url)
    dash_duo.wait_for_contains_text("#frame-info", "e1 (16 units), epoch 0", timeout=30)
    # the latent layer is the last on the layer slider; a VAE's map has no prediction, so no accuracy
    press(dash_duo, "layer-slider", Keys.END)
    dash_duo.wait_for_contains_text("#frame-info", "z (2 units), epoch 0", timeout=30)
    assert "accuracy" not in dash_duo.find_element("#frame-info").text
    dash_duo.wait_for_contains_text("#collapse-message", "beta 4", timeout=20)
    screenshot(dash_duo, "beta")
    assert dash_duo.get_logs() == []


def test_a_new_run_from_the_form_trains_then_shows(dash_duo, trained_store_dir, tiny_config, tmp_path):
    start_on_trained_run(dash_duo, trained_store_dir, tiny_config, tmp_path)
    dash_duo.wait_for_contains_text("#job-message", "8/8 frames ready", timeout=60)
    dash_duo.find_element(".new-run summary").click()

    def fill(field_id: str, text: str) -> None:
        box = dash_duo.find_element(f"#{field_id}")
        box.clear()
        box.send_keys(text, Keys.TAB)

    fill("new-hidden", "16,x")
    fill("new-epochs", "2")
    dash_duo.find_element("#new-train").click()
    dash_duo.wait_for_contains_text("#new-hidden-error", "comma-separated whole numbers", timeout=10)
    fill("new-hidden", "16")
    fill("new-epochs", "40")
    fill("new-name", "first try")
    dash_duo.find_element("#new-train").click()
    # the page switches to the new run at once: header, picker and URL, before its first epoch is stored; each
    # says the run's name (the header with what the run is, and its id)
    dash_duo.wait_for_contains_text("#run-name", "first try · MLP 16 on digits · ", timeout=10)
    assert dash_duo.find_element("#new-hidden-error").text == ""
    run_id = dash_duo.find_element("#run-name").text.split(" · ")[-1]
    assert f"run={run_id}&name=first+try" in dash_duo.driver.current_url
    assert dash_duo.driver.title == "first try · EpochScope"
    dash_duo.wait_for_contains_text("#run-picker", "first try · ", timeout=10)

    def shown_while_training(driver):  # the map follows the job: an epoch >= 3 while it still trains or lays out
        found = re.search(r"h1 \(16 units\), epoch (\d+):", driver.find_element("id", "frame-info").text)
        job = driver.find_element("id", "job-message").text
        return bool(found and int(found.group(1)) >= 3 and re.search(r"Training|Laying out", job))

    WebDriverWait(dash_duo.driver, 90, poll_frequency=0.1).until(shown_while_training)
    screenshot(dash_duo, "new-run-training")
    # a reload in the middle goes on following the same run
    dash_duo.driver.refresh()
    dash_duo.wait_for_contains_text("#run-name", run_id, timeout=30)
    WebDriverWait(dash_duo.driver, 60, poll_frequency=0.1).until(lambda d: re.search(
        r"(Training|Following)", d.find_element("id", "job-message").text) or "frames ready" in d.find_element(
            "id", "job-message").text)
    dash_duo.find_element(".new-run summary").click()  # the reload closed the form and reset its fields
    fill("new-hidden", "16")
    # and on to the last epoch: the job line, the slider, the curves and the picker's label
    dash_duo.wait_for_contains_text("#job-message", "41/41 frames ready", timeout=180)  # 1 layer x epochs 0..40
    # (reloaded after its training ended, the run is one being laid out: the slider stays where the user left it)
    press(dash_duo, "epoch-slider", Keys.END)
    dash_duo.wait_for_contains_text("#frame-info", "h1 (16 units), epoch 40", timeout=30)
    assert dash_duo.find_element("#epoch-slider [role=slider]").get_attribute("aria-valuemax") == "40"
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const gd = document.querySelector('#training-curves .js-plotly-plot');"
        "return gd && gd.data[0].x.length === 41;"))
    dash_duo.wait_for_contains_text("#run-picker", "40 epochs", timeout=20)
    assert "complete" in dash_duo.find_element("#run-picker").text
    screenshot(dash_duo, "new-run-done")
    # renamed: the header, the picker, the URL and the tab say the new name
    fill("rename-run", "")
    dash_duo.wait_for_contains_text("#runs-message", "", timeout=5)
    fill("rename-run", "x" * 81)  # the box holds at most 80 characters: the name is cut, not refused
    dash_duo.wait_for_contains_text("#run-name", "x" * 80 + " · MLP 16", timeout=10)
    fill("rename-run", "wide, 20 epochs")
    dash_duo.wait_for_contains_text("#run-name", "wide, 20 epochs · MLP 16 on digits · " + run_id, timeout=10)
    dash_duo.wait_for_contains_text("#run-picker", "wide, 20 epochs · 40 epochs", timeout=10)
    assert "name=wide%2C+20+epochs" in dash_duo.driver.current_url
    assert dash_duo.find_element("#rename-run").get_attribute("value") == ""

    # your own data: upload a CSV, name its label column, train on it
    table = tmp_path / "plants.csv"
    # class names from the file are text wherever they are shown, markup and all
    names = ("<img src=x onerror=window.__pwned=1>", "<b>y</b>")
    table.write_text("a,b,species\n" + "".join(f"{i % 7},{(i * 3) % 5},{names[i % 2]}\n" for i in range(60)))
    choose(dash_duo, "new-dataset", "your file (upload)")
    dash_duo.find_element("#new-upload input[type=file]").send_keys(str(table))
    dash_duo.wait_for_contains_text("#new-upload-name", "plants.csv", timeout=10)
    fill("new-label", "colour")
    dash_duo.find_element("#new-train").click()
    dash_duo.wait_for_contains_text("#new-upload-error", "label column 'colour' not in the header", timeout=10)
    fill("new-label", "species")
    fill("new-epochs", "2")
    dash_duo.find_element("#new-train").click()
    dash_duo.wait_for_contains_text("#run-name", "MLP 16 on file", timeout=60)
    assert dash_duo.find_element("#new-upload-error").text == ""
    dash_duo.wait_for_contains_text("#job-message", "3/3 frames ready", timeout=60)
    dash_duo.wait_for_contains_text("#frame-info", "h1 (16 units), epoch 2", timeout=60)
    legend = WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('#map .legendtext')).map(t => t.textContent);"))
    assert set(names) <= set(legend), legend  # shown as written
    # and in the inspector: the sample's classes and its neighbours' buttons (the map scrolled into view under
    # the open form)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});",
                                   dash_duo.find_element("#map .nsewdrag"))
    dx, dy = point_offset(dash_duo)
    ActionChains(dash_duo.driver).move_to_element_with_offset(
        dash_duo.find_element("#map .nsewdrag"), dx, dy).click().perform()
    dash_duo.wait_for_contains_text("#inspector-body", "true class", timeout=20)
    body = dash_duo.find_element("#inspector-body").text
    assert any(f"true class {name}" in body for name in names), body
    buttons = [b.text for b in dash_duo.driver.find_elements("css selector", "#inspector-body button")]
    assert buttons and all(b.split(" · ", 1)[1] in names for b in buttons), buttons
    assert dash_duo.driver.execute_script(
        "return window.__pwned === undefined && !document.querySelector('#map img, #map b, #inspector-body img,"
        " #inspector-body b, #run-picker img, #run-picker b');")
    assert dash_duo.get_logs() == []


def test_the_numbers_say_what_the_map_shows_and_link_to_it(dash_duo, trained_store_dir, tiny_config, tmp_path):
    from analysis import stage
    from analysis.observations import observe
    from models.store import RunStore

    start_on_trained_run(dash_duo, trained_store_dir, tiny_config, tmp_path)
    dash_duo.wait_for_contains_text("#job-message", "8/8 measured", timeout=90)
    press(dash_duo, "epoch-slider", Keys.END)
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 3", timeout=20)

    # the observations on the page are the ones the numbers give (read from the same store)
    store = RunStore(tmp_path / "store")
    expected = observe(stage.frame_evidence(store, tiny_config.run_id, 0, 3))
    n_training = int(store.probe(tiny_config.run_id)["in_train"].sum())
    store.close()
    assert expected, "the tiny run's last frame should clear at least one observation's threshold"
    WebDriverWait(dash_duo.driver, 20).until(
        lambda d: [li.text for li in d.find_elements("css selector", "#observations li")] == expected)

    # what changed: a ranked list, the same samples ringed on the map; a click selects the sample
    buttons = WebDriverWait(dash_duo.driver, 20).until(
        lambda d: d.find_elements("css selector", "#what-changed button"))
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script(
        "const t = document.querySelector('#map .js-plotly-plot')._fullData.find(t => t.name === 'changed most');"
        f"return t && t.x.length === {len(buttons)};"))
    changes = [int(b.text.rsplit("· ", 1)[1].rstrip("%")) for b in buttons]
    assert changes == sorted(changes, reverse=True) and changes[0] > 0
    first = buttons[0].text.split(" ")[0]
    buttons[0].click()
    dash_duo.wait_for_contains_text("#inspector-body", f"Sample {first}", timeout=20)

    # a click on a CKA cell goes there: the layer (between layers), the epoch (between epochs)
    def click(graph_id: str, x: int) -> None:
        WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
            f"const gd = document.querySelector('#{graph_id} .js-plotly-plot');"
            "return gd && gd._fullData && gd._fullData.length > 0;"))
        dash_duo.driver.execute_script(
            f"document.querySelector('#{graph_id} .js-plotly-plot')"
            f".emit('plotly_click', {{points: [{{x: {x}, y: 0, curveNumber: 0, pointNumber: [0, {x}]}}]}});")

    click("cka-layers", 1)
    dash_duo.wait_for_contains_text("#frame-info", "h2 (12 units), epoch 3", timeout=20)
    click("cka-epochs", 1)
    dash_duo.wait_for_contains_text("#frame-info", "h2 (12 units), epoch 1", timeout=20)

    # the data map: a point per training sample; a click on one selects it
    n_points = dash_duo.driver.execute_script(
        "return document.querySelector('#cartography .js-plotly-plot')._fullData.reduce((n, t) => n + t.x.length, 0);")
    assert n_points == n_training
    sample = dash_duo.driver.execute_script(
        "const gd = document.querySelector('#cartography .js-plotly-plot'); const c = gd._fullData[0].customdata[0];"
        "gd.emit('plotly_click', {points: [{x: 0, y: 0, curveNumber: 0, pointNumber: 0, customdata: c}]});"
        "return c[0];")
    dash_duo.wait_for_contains_text("#inspector-body", f"Sample {sample}", timeout=20)
    assert "training samples" in dash_duo.find_element("#cartography-summary").text
    screenshot(dash_duo, "analysis", at=".analysis")

    # neurons over training: every unit at every epoch, those of the epoch on show (1) ringed; a click on one
    # inspects it at its layer and epoch
    ring = ("const gd = document.querySelector('#neuron-map .js-plotly-plot');"
            "const r = gd && gd._fullData && gd._fullData.find(t => t.name === 'epoch on show');")
    WebDriverWait(dash_duo.driver, 30).until(lambda d: d.execute_script(
        ring + "return r && gd._fullData.filter(t => t !== r).reduce((n, t) => n + t.x.length, 0) === 36 * 4"
        " && r.x.length === 36 && r.customdata.every(c => c[2] === 1);"))
    assert "mean class selectivity" in dash_duo.find_element("#neuron-summary").text
    layer, unit, epoch = dash_duo.driver.execute_script(
        ring + "const want = r.customdata[r.customdata.length - 1];"  # a ringed unit of h2, as its node
        "const curve = gd._fullData.findIndex(t => t !== r && t.customdata.some(c => c[3] === want[3]));"
        "const point = gd._fullData[curve].customdata.findIndex(c => c[3] === want[3]);"
        "gd.emit('plotly_click', {points: [{x: 0, y: 0, curveNumber: curve, pointNumber: point}]});"
        "return want.slice(0, 3);")
    assert (layer, epoch) == (1, 1)
    dash_duo.wait_for_contains_text("#inspector-body", f"Neuron {unit} of h2, epoch 1", timeout=20)
    screenshot(dash_duo, "neurons", at=".neurons")
    assert dash_duo.get_logs() == []


def test_the_story_of_the_run_links_both_ways_and_writes_its_report(dash_duo, trained_store_dir, tiny_config,
                                                                     tmp_path):
    from analysis.story import run_story
    from models.store import RunStore

    start_on_trained_run(dash_duo, trained_store_dir, tiny_config, tmp_path)
    dash_duo.wait_for_contains_text("#job-message", "8/8 measured", timeout=90)
    store = RunStore(tmp_path / "store")
    story = run_story(store, tiny_config.run_id)
    store.close()
    assert story is not None and story.events
    timeline = "const gd = document.querySelector('#story-timeline .js-plotly-plot');"
    # every event on the timeline, at its epoch and layer's row
    count = "return gd && gd._fullData && gd._fullData.reduce((n, t) => n + t.x.length, 0);"
    WebDriverWait(dash_duo.driver, 30).until(lambda d: d.execute_script(timeline + count) == len(story.events))

    # the epoch on show marks its events: the line on the timeline, and a list of them to click
    press(dash_duo, "epoch-slider", Keys.END)
    dash_duo.wait_for_contains_text("#frame-info", "h1 (24 units), epoch 3", timeout=20)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        timeline + "return gd.layout.shapes.length === 1 && gd.layout.shapes[0].x0 === 3;"))
    at_three = [e for e in story.events if e.epoch == 3 and e.samples]
    assert at_three, "the tiny run's last epoch should hold an event with samples"
    button = WebDriverWait(dash_duo.driver, 20).until(lambda d: next(
        (b for b in d.find_elements("css selector", ".story-event") if b.text == at_three[0].text), None))
    layer_name = story.layer_names[at_three[0].layer]
    button.click()
    # a click on an event goes to its layer and epoch and rings the samples it involves
    dash_duo.wait_for_contains_text("#frame-info", f"{layer_name} ", timeout=20)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const t = document.querySelector('#map .js-plotly-plot')._fullData.find(t => t.meta === 'ring');"
        f"return t && t.name === 'in the event' && t.x.length === {len(at_three[0].samples)};"))
    assert dash_duo.find_element("#what-changed").text.startswith("Ringed on the map: the")
    screenshot(dash_duo, "story-event-ring", at="#map")

    # a click on the timeline goes to the event's layer and epoch
    target = next(e for e in story.events if e.epoch == 1 and e.layer == 1)
    dash_duo.driver.execute_script(
        timeline + "const k = arguments[0];"
        "const c = gd._fullData.findIndex(t => t.customdata.includes(k));"
        "gd.emit('plotly_click', {points: [{x: 1, y: 'h2', curveNumber: c,"
        " pointNumber: gd._fullData[c].customdata.indexOf(k), customdata: k}]});", story.events.index(target))
    dash_duo.wait_for_contains_text("#frame-info", "h2 (12 units), epoch 1", timeout=20)

    # filtered by layer: only the whole network's and h1's events are left
    dash_duo.find_element("#story-layers input[value='1']").click()
    kept = sum(1 for e in story.events if e.layer != 1)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(timeline + count) == kept)
    # when learned: every probe sample counted once; the report, one file, from the page
    learned = dash_duo.driver.execute_script(
        "const gd = document.querySelector('#story-learned .js-plotly-plot');"
        "return gd._fullData.reduce((n, t) => n + t.y.reduce((a, b) => a + b, 0), 0);")
    assert learned == 240
    dash_duo.find_element("#report-button").click()
    dash_duo.wait_for_contains_text("#report-note", "-report.html (", timeout=60)
    screenshot(dash_duo, "story", at=".story")
    assert dash_duo.get_logs() == []


def test_a_run_is_shown_while_it_trains_and_follows_the_latest_epoch(dash_duo, tmp_path):
    from models.config import RunConfig
    from models.store import RunStore

    # small batches: a few epochs a second on any machine, so that the job records for minutes (it is stopped when
    # the test ends) at a pace the page's requests are served beside (tens of epochs a second, each one written
    # to the store with its layouts, kept the store's writers so busy that the page's polls went unanswered)
    config = RunConfig(hidden=(16, 8), epochs=1000, lr=0.01, probe_size=300, seed=5, batch_size=4)
    store_dir = tmp_path / "store"
    dash_duo.start_server(create_app(store_dir=store_dir, config=config, params=FAST))  # trained by the page

    def shown_epoch(driver):
        found = re.search(r"h1 \(16 units\), epoch (\d+):", driver.find_element("id", "frame-info").text)
        return int(found.group(1)) if found and int(found.group(1)) >= 3 else None

    epoch = WebDriverWait(dash_duo.driver, 90, poll_frequency=0.1).until(shown_epoch)
    store = RunStore(store_dir)
    try:
        info = store.run_info(config.run_id)
        assert info.state == "training" and info.epochs_done < 1001  # still training while the map shows epoch >= 3
    finally:
        store.close()
    assert "Training" in dash_duo.find_element("#job-message").text
    # the slider ends at the last recorded epoch, not at the 1000 planned, and "follow latest" keeps moving it on
    assert int(dash_duo.find_element("#epoch-slider [role=slider]").get_attribute("aria-valuemax")) < 1000
    WebDriverWait(dash_duo.driver, 60, poll_frequency=0.1).until(lambda d: (shown_epoch(d) or 0) > epoch + 2)
    # turned off, the map stays on the epoch on show as more epochs arrive (the slider's end moves on)
    dash_duo.find_element("#follow-latest input").click()
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: not d.find_element("css selector", "#follow-latest input").is_selected())
    held = shown_epoch(dash_duo.driver)
    end = int(dash_duo.find_element("#epoch-slider [role=slider]").get_attribute("aria-valuemax"))
    WebDriverWait(dash_duo.driver, 60, poll_frequency=0.1).until(lambda d: int(d.find_element(
        "css selector", "#epoch-slider [role=slider]").get_attribute("aria-valuemax")) >= end + 3)
    assert shown_epoch(dash_duo.driver) == held
    assert dash_duo.get_logs() == []


def test_two_runs_side_by_side_aligned_with_linked_selection(dash_duo, trained_store_dir, tiny_config, tmp_path):
    from dataclasses import replace as replaced

    from models.store import RunStore
    from models.train import train

    store_dir = tmp_path / "store"
    shutil.copytree(trained_store_dir, store_dir)
    scrambled = replaced(tiny_config, scramble="labels", scramble_fraction=0.5)  # the same probe samples
    store = RunStore(store_dir)
    train(scrambled, store)
    store.close()
    dash_duo.start_server(create_app(store_dir=store_dir, config=tiny_config, params=FAST))
    # the comparison comes from the URL, as a shared link would give it
    dash_duo.driver.get(f"{dash_duo.server_url}/?run={tiny_config.run_id}&compare={scrambled.run_id}&epoch=3")
    dash_duo.wait_for_contains_text("#job-message", "8/8 frames ready", timeout=60)
    dash_duo.wait_for_contains_text("#compare-message", "8/8 frames ready", timeout=60)
    WebDriverWait(dash_duo.driver, 30).until(lambda d: d.execute_script(
        "const gd = document.querySelector('#map-b .js-plotly-plot');"
        "return gd && gd.layout.meta && gd.layout.meta.aligned && "
        "gd._fullData.reduce((s, t) => s + t.x.length, 0) === 240;"))  # every probe sample, aligned to the map
    assert "hidden" not in dash_duo.find_element("#compare-view").get_attribute("class")
    title = dash_duo.driver.execute_script("return document.querySelector('#map-b .js-plotly-plot').layout.title.text;")
    assert "epoch 3" in title and title.startswith("MLP 24-12 on digits, labels")  # what the run is, not its hash
    # the compared map is the same figure as the map's, in every colour mode (its traces, named as the map's)
    traces = ("return Array.from(document.querySelector(arguments[0] + ' .js-plotly-plot')._fullData)"
              ".filter(t => t.customdata && t.name !== 'selected').map(t => [t.name, Boolean(t.marker.colorscale)]);")
    for mode in COLOUR_MODES:
        dash_duo.find_element(f"#colour-by input[value='{mode}']").click()
        # the compared run scrambles half its labels: its own scrambled samples, its own predictions
        expect = (lambda names: names == ["clean", "scrambled"]) if mode == "scrambled" else MODE_TRACES[mode]
        WebDriverWait(dash_duo.driver, 20).until(lambda d, expect=expect, mode=mode: all(
            expect([n for n, _ in found]) and all(scale for _, scale in found) == (mode == "sensitivity")
            for found in [d.execute_script(traces, "#map-b")]))
    dash_duo.find_element("#colour-by input[value='class']").click()
    # the curves overlay the compared run's accuracy
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "return document.querySelector('#training-curves .js-plotly-plot').data.some(t => t.name === arguments[0]);",
        f"{scrambled.run_id}: test acc."))

    # a click on the compared map selects the sample: ringed in both maps, inspected
    dash_duo.wait_for_element("#map[data-glide='still']", timeout=10)
    dash_duo.driver.execute_script(
        "const gd = document.querySelector('#map-b .js-plotly-plot'); const c = gd._fullData[0].customdata[0];"
        "gd.emit('plotly_click', {points: [{x: 0, y: 0, curveNumber: 0, pointNumber: 0, customdata: c}]});")
    dash_duo.wait_for_contains_text("#inspector-body", "Sample", timeout=20)
    sample = dash_duo.find_element("#inspector-body").text.split("Sample ")[1].split()[0]
    for graph in ("map", "map-b"):
        WebDriverWait(dash_duo.driver, 10).until(lambda d, graph=graph: d.execute_script(
            f"return document.querySelector('#{graph} .js-plotly-plot')._fullData.some(t => t.name === 'selected');"))
    url = dash_duo.driver.current_url
    assert f"sample={sample}" in url and f"compare={scrambled.run_id}" in url

    # one epoch control for both maps
    press(dash_duo, "epoch-slider", Keys.HOME)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: "epoch 0" in d.execute_script(
        "return document.querySelector('#map-b .js-plotly-plot').layout.title.text;"))
    # cleared, the compared map goes away
    screenshot(dash_duo, "compare")
    dash_duo.find_element("#compare-picker .Select-clear, #compare-picker [aria-label='Clear all'], "
                          "#compare-picker .dash-dropdown-clear").click()
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: "hidden" in d.find_element("id", "compare-view").get_attribute("class"))
    assert dash_duo.get_logs() == []


def test_the_input_plane_of_a_network_on_2d_data(dash_duo, tmp_path):
    from models.config import RunConfig

    config = RunConfig(dataset="moons", hidden=(8, 6), epochs=6, lr=0.05, n_samples=300, probe_size=120, seed=2)
    dash_duo.start_server(create_app(store_dir=tmp_path / "store", config=config, params=FAST))
    dash_duo.wait_for_contains_text("#job-message", "14/14 measured", timeout=120)
    press(dash_duo, "epoch-slider", Keys.HOME)  # "follow latest" took the slider along as the run trained
    surface = ("const gd = document.querySelector('#plane-decision .js-plotly-plot');"
               "const h = gd && gd._fullData && gd._fullData.find(t => t.type === 'heatmap');")
    WebDriverWait(dash_duo.driver, 30).until(lambda d: d.execute_script(
        surface + "return h && h.z.length === 48 && h.z[0].length === 48 && gd.layout.title.text.endsWith('epoch 0');"))
    first = dash_duo.driver.execute_script(surface + "return h.z.flat();")
    # the surface follows the epoch slider in the browser: no request asks the server for it
    dash_duo.driver.execute_script(
        "window.__asked = []; const fetchFirst = window.fetch;"
        "window.fetch = function (url, options) {"
        "  if (options && options.body) { window.__asked.push(JSON.parse(options.body).output); }"
        "  return fetchFirst.apply(this, arguments); };")
    press(dash_duo, "epoch-slider", Keys.END)
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        surface + "return gd.layout.title.text.endsWith('epoch 6');"))
    last = dash_duo.driver.execute_script(surface + "return h.z.flat();")
    assert first != last  # the network's decision moved over training
    assert not [o for o in dash_duo.driver.execute_script("return window.__asked;") if "plane" in o]
    # a unit clicked in the neuron map: its activation over the plane at the epoch on show
    ring = ("const gd = document.querySelector('#neuron-map .js-plotly-plot');"
            "const r = gd && gd._fullData && gd._fullData.find(t => t.name === 'epoch on show');")
    WebDriverWait(dash_duo.driver, 30).until(lambda d: d.execute_script(ring + "return r && r.x.length === 14;"))
    dash_duo.driver.execute_script(
        ring + "const want = r.customdata[0];"
        "const curve = gd._fullData.findIndex(t => t !== r && t.customdata.some(c => c[3] === want[3]));"
        "const point = gd._fullData[curve].customdata.findIndex(c => c[3] === want[3]);"
        "gd.emit('plotly_click', {points: [{x: 0, y: 0, curveNumber: curve, pointNumber: point}]});")
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "const gd = document.querySelector('#plane-unit .js-plotly-plot');"
        "const h = gd && gd._fullData && gd._fullData.find(t => t.type === 'heatmap');"
        "return h && h.z.length === 48 && gd.layout.title.text === 'h1 unit 0 · epoch 6';"))
    screenshot(dash_duo, "plane")
    assert dash_duo.get_logs() == []


def test_the_animation_export_plays_in_every_colour_mode(dash_duo, store_copy, tiny_config, tmp_path):
    """The HTML animation is drawn by the map's own figure code from the file alone: each colour mode's traces,
    and the slider and Play step through the epochs."""
    from dashboard.export import animation_html
    from frames import prepare as frames_prepare

    frames_prepare.prepare(store_copy, tiny_config, FAST)
    figure = ("const gd = document.getElementById('map'); return gd && gd._fullData ? gd._fullData.map(t => "
              "({name: t.name, n: t.x.length, scale: Boolean(t.marker.colorscale)})) : null;")
    for mode in COLOUR_MODES:
        page = tmp_path / f"animation-{mode}.html"
        page.write_text(animation_html(store_copy, tiny_config.run_id, 1, FAST, mode))
        dash_duo.driver.get(page.as_uri())
        traces = WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(figure))
        names = [t["name"] for t in traces]
        assert sum(t["n"] for t in traces) == 240
        assert MODE_TRACES[mode](names), (mode, names)
        assert all(t["scale"] for t in traces) == (mode == "sensitivity")
        dash_duo.driver.execute_script(
            "const s = document.getElementById('epoch'); s.value = '2'; s.dispatchEvent(new Event('input'));")
        WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script(
            "return document.getElementById('map').dataset.epoch === '2'"
            " && document.getElementById('map').layout.title.text.endsWith('epoch 2');"))
    dash_duo.driver.find_element("id", "play").click()  # plays on to the last epoch, then stops
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
        "return document.getElementById('map').dataset.epoch === '3'"
        " && document.getElementById('play').textContent === 'Play';"))
    screenshot(dash_duo, "animation")
    assert dash_duo.get_logs() == []
