"""``app.py`` as a user starts it: a real server process answering real HTTP on 127.0.0.1."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(*args: str) -> tuple[subprocess.Popen, str, str]:
    """Start ``app.py`` with ``args``; the process, its page and its layout JSON once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while True:
        try:
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"server did not come up: {proc.stdout.read() if proc.stdout else ''}")
            time.sleep(0.5)
    layout = urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=5).read().decode()
    return proc, page, layout


def find(node, component_id: str) -> dict | None:
    """The props of the component ``component_id`` in a Dash layout JSON."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == component_id:
            return props
        children = props.get("children")
        return find(children, component_id) if children is not None else None
    if isinstance(node, list):
        return next((p for p in (find(c, component_id) for c in node) if p is not None), None)
    return None


def test_app_serves_the_page_on_loopback(tmp_path):
    proc, page, layout = serve("--store", str(tmp_path))
    try:
        assert "<title>EpochScope</title>" in page
        text = json.dumps(json.loads(layout))
        assert all(i in text for i in ('"layer-slider"', '"epoch-slider"', '"play-button"', '"map"'))
        assert "h4 \\u00b7 32" in text  # the default run's last hidden layer, 32 units
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_recorded_run_of_your_own_model_opens_in_the_dashboard(tmp_path):
    import torch
    from torch import nn

    from models.recorder import Recorder
    from models.store import RunStore

    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    store = RunStore(tmp_path)
    with Recorder(store, model, layers=["1"], probe_X=torch.rand(30, 4), probe_y=[0, 1] * 15, name="mine") as rec:
        rec.record()
        rec.record()
    store.close()
    proc, _, layout = serve("--store", str(tmp_path), "--run", rec.run_id)
    try:
        assert rec.run_id in layout and "custom model 6 on mine" in layout
        assert find(json.loads(layout), "epoch-slider")["max"] == 1  # the last recorded epoch
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_an_unknown_run_is_refused_with_its_name(tmp_path):
    result = subprocess.run([sys.executable, "app.py", "--store", str(tmp_path), "--run", "mlp-nope"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--run: run 'mlp-nope' is not in the store" in result.stderr


def test_bad_port_is_refused_with_the_range():
    result = subprocess.run([sys.executable, "app.py", "--port", "70000"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "--port must be in 1-65535, got 70000" in result.stderr


def test_the_app_and_the_engine_do_not_import_umap_or_opentsne():
    code = ("import sys, app, dashboard, layout_engine, layout_engine.baselines; "
            "print(sorted(m for m in ('umap', 'openTSNE') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_safe_defaults_loopback_only_no_debugger_and_no_code_from_input(tmp_path):
    import psutil

    proc, _page, _layout = serve("--store", str(tmp_path))
    try:
        listening = {c.laddr.ip for c in psutil.Process(proc.pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN}
        assert listening == {"127.0.0.1"}
        port = next(c.laddr.port for c in psutil.Process(proc.pid).net_connections(kind="inet")
                    if c.status == psutil.CONN_LISTEN)
        for path in ("/console", "/?__debugger__=yes&cmd=resource&f=debugger.js"):  # no Werkzeug debugger
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                body = response.read()
            assert b"Werkzeug" not in body and b"EpochScope" in body  # Dash's page for any path
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # nothing in the app's own code evaluates, unpickles or shells out
    sources = [p for folder in ("dashboard", "models", "layout_engine") for p in (ROOT / folder).rglob("*.py")]
    sources.append(ROOT / "app.py")
    for path in sources:
        text = path.read_text()
        for needle in ("eval(", "exec(", "pickle.load", "shell=True", "os.system(", "allow_pickle=True"):
            assert needle not in text.replace("model.eval(", "").replace(".eval()", ""), f"{needle} in {path}"
