"""``app.py`` as a user starts it: a real server process answering real HTTP on 127.0.0.1."""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(*args: str, env: dict[str, str] | None = None, port: int | None = None) -> tuple[subprocess.Popen, str, str]:
    """Start ``app.py`` with ``args`` (and ``env`` added to the environment) on ``port`` (default: a free one); the
    process, its page and its layout JSON once it answers."""
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
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


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_frames_prepared_with_custom_settings_are_found_by_a_server_with_the_same(tmp_path, capsys):
    """One configuration path: ``prepare --layout`` and ``app.py`` under ``EPOCHSCOPE_LAYOUT`` index and look up
    frames under the same parameters; a server with other settings does not take them for its own."""
    from epochscope.app.cli import main

    custom = '{"n_neighbors": 8, "guard": null, "n_iter": 60}'
    assert main(["train", "--dataset", "moons", "--n-samples", "120", "--hidden", "8,4", "--epochs", "2",
                 "--store", str(tmp_path)]) == 0
    run_id = capsys.readouterr().out.split()[0]
    assert main(["prepare", run_id, "--layout", custom, "--store", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"{run_id}: 6/6 frames ready (knn, ours)"
    for env, expected in (({"EPOCHSCOPE_LAYOUT": custom}, 200), ({}, 404)):
        port = free_port()
        proc, _, _ = serve("--store", str(tmp_path), "--run", run_id, env=env, port=port)
        try:
            statuses = {status_of(f"http://127.0.0.1:{port}/frames/{run_id}/{layer}/{epoch}")
                        for layer in range(2) for epoch in range(3)}
            assert statuses == {expected}, env
        finally:
            proc.terminate()
            proc.wait(timeout=10)


BAD_LAYOUTS = [
    ('{"n_neighbors": 0}', "EPOCHSCOPE_LAYOUT: n_neighbors must be a whole number in 2..200, got 0"),
    ('{"n_neighbors": "15"}', "EPOCHSCOPE_LAYOUT: n_neighbors must be a whole number in 2..200, got '15'"),
    ('{"metric": "manhattan"}', "EPOCHSCOPE_LAYOUT: metric must be one of 'euclidean', 'cosine'"),
    ('{"n_iter": -5}', "EPOCHSCOPE_LAYOUT: n_iter must be a whole number in 1..10000, got -5"),
    ('{"quantile": 7}', "EPOCHSCOPE_LAYOUT: quantile must be a number in 0..1, got 7"),
    ('{"k": 7}', "EPOCHSCOPE_LAYOUT: unknown layout parameter 'k'"),
]


@pytest.mark.parametrize(("layout", "message"), BAD_LAYOUTS)
def test_bad_layout_settings_are_refused_naming_the_field_and_its_range(layout, message):
    """The one loader every entry point reads its settings with (app.py, gunicorn, workers, the command line)."""
    from epochscope.app.settings import load_settings

    with pytest.raises(ValueError, match=re.escape(message)):
        load_settings({"EPOCHSCOPE_LAYOUT": layout})


def test_a_bad_layout_setting_stops_the_server_at_start_up(tmp_path):
    layout, message = BAD_LAYOUTS[1]
    result = subprocess.run([sys.executable, "app.py", "--store", str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "EPOCHSCOPE_LAYOUT": layout})
    assert result.returncode == 2 and message in result.stderr


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
        # the development server's own refusals (a request line too long, a malformed one) are the app's kind:
        # JSON with the security headers (they were HTML pages without them)
        port = proc.args[proc.args.index("--port") + 1]
        for request_line, status in ((f"GET /{'x' * 70000} HTTP/1.1", 414), ("GET /a b HTTP/1.1", 400)):
            with socket.create_connection(("127.0.0.1", int(port)), timeout=30) as sock:
                sock.sendall(f"{request_line}\r\nHost: 127.0.0.1\r\n\r\n".encode("latin1"))
                reply = http.client.HTTPResponse(sock)
                reply.begin()
                assert reply.status == status and reply.getheader("X-Frame-Options") == "DENY"
                assert json.loads(reply.read())["error"].startswith(str(status))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_recorded_run_of_your_own_model_opens_from_its_log_directory(tmp_path):
    import torch
    from torch import nn

    from epochscope import Recorder

    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    with Recorder(tmp_path / "logs", model, layers=["1"], probe_X=torch.rand(30, 4), probe_y=[0, 1] * 15,
                  name="mine") as rec:
        rec.record()
        rec.record()
    listing = subprocess.run([sys.executable, "-m", "epochscope", "list", "--logdir", str(tmp_path / "logs")],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    run_id, state, unit, last, folder = listing.stdout.split()
    assert run_id.startswith("custom-mine-") and (state, unit, last) == ("complete", "epochs", "1")
    assert folder == str(tmp_path / "logs" / "mine")
    # the page opens on the log directory's newest run
    proc, _, layout = serve("--store", str(tmp_path / "store"), "--logdir", str(tmp_path / "logs"))
    try:
        assert run_id in layout and "mine (6)" in layout
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
