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


def test_app_serves_the_page_on_loopback(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--store", str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    pytest.fail(f"server did not come up: {proc.stdout.read() if proc.poll() is not None else ''}")
                time.sleep(0.5)
        assert "<title>EpochScope</title>" in page
        layout = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=5).read())
        text = json.dumps(layout)
        assert all(i in text for i in ('"layer-slider"', '"epoch-slider"', '"play-button"', '"map"'))
        assert "h4 \\u00b7 32" in text  # the default run's last hidden layer, 32 units
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
