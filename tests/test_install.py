"""EpochScope installed as a user installs it: ``pip install <checkout>`` into a fresh virtual environment, then a
training script in the user's own project, which has its own ``models`` package, records into a log directory
with no path edits; ``epochscope serve --logdir`` shows the run in Chromium while the script still trains."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.processes import ROOT, chromium, free_port, start, stop, wait_until

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("EPOCHSCOPE_SCREENSHOTS")

#: the user's project: a `models` package of their own, and a training script
USER_MODELS = '''
"""The user's own models package: it must stay theirs."""
WHOSE = "the user's"
'''
USER_NET = '''
from torch import nn


def build() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
'''
USER_SCRIPT = '''
import sys, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import models
from models.net import build
from epochscope import Recorder

assert models.WHOSE == "the user's", models.__file__
logdir, release = sys.argv[1], Path(sys.argv[2])
g = np.random.default_rng(0)
centres = g.normal(size=(10, 64)).astype(np.float32) * 2
y = np.arange(600) % 10
X = torch.from_numpy(centres[y] + g.normal(size=(600, 64)).astype(np.float32))
y = torch.from_numpy(y)
torch.manual_seed(0)
model = build()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
with Recorder(logdir, model, ["1", "3"], X[:300], y[:300], name="user-run",
              loss_fn=lambda out, t: F.cross_entropy(out, t, reduction="none")) as recorder:
    recorder.record()
    for epoch in range(1, 9):
        for batch in torch.randperm(600).split(50):
            optimizer.zero_grad()
            F.cross_entropy(model(X[batch]), y[batch]).backward()
            optimizer.step()
        recorder.record()
        print("epoch", epoch, flush=True)
        if epoch == 4:  # still training: wait until the test has seen the page follow
            deadline = time.time() + 300
            while not release.exists() and time.time() < deadline:
                time.sleep(0.2)
print("done", recorder.path)
'''


def run(args: list[str], cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_installed_into_a_fresh_venv_a_users_script_records_and_the_page_follows_it_live(tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    # torch pinned as the README says (a CPU build from this machine's disk); numpy as the package asks
    run([str(python), "-m", "pip", "install", "--quiet", "torch==2.13.0", str(ROOT)], tmp_path)
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "__init__.py").write_text(USER_MODELS)
    (project / "models" / "net.py").write_text(USER_NET)
    (project / "train.py").write_text(USER_SCRIPT)
    # the package is one top-level name; its app's packages travel inside it, out of the user's way
    found = json.loads(run([str(python), "-c", textwrap.dedent("""
        import json, importlib.metadata as md, importlib.util, epochscope
        tops = md.distribution("epochscope").read_text("top_level.txt").split()
        print(json.dumps({"tops": tops, "file": epochscope.__file__,
                          "models": importlib.util.find_spec("models") is not None}))""")], tmp_path))
    assert found["tops"] == ["epochscope"] and found["file"].startswith(str(venv)) and not found["models"]
    vendored = run([str(python), "-c", "import importlib.util, epochscope.app; print(epochscope.app.app_root(), "
                    "importlib.util.find_spec('models').origin)"], project).split()
    assert vendored[0].startswith(str(venv)) and vendored[1].startswith(vendored[0])  # not the user's models
    # the recorder needs numpy and torch only; the app says what it lacks
    refused = subprocess.run([str(venv / "bin" / "epochscope"), "list"], cwd=project, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 2 and "pip install 'epochscope[app]'" in refused.stderr

    logdir, release = tmp_path / "logs", tmp_path / "release"
    script = subprocess.Popen([str(python), "train.py", str(logdir), str(release)], cwd=project,
                              stdout=open(tmp_path / "train.log", "w"), stderr=subprocess.STDOUT)
    server = browser = None
    try:
        wait_until(lambda: any(logdir.glob("*/records/00000000.npz")), 120, "the first record", script,
                   tmp_path / "train.log")
        port = free_port()
        # the console script the installed package gives (here the checkout's own, installed editable)
        server = start([str(Path(sys.executable).parent / "epochscope"), "serve", "--port", str(port), "--store",
                        str(tmp_path / "store"), "--logdir", str(logdir), "--layout",
                        '{"n_iter": 80, "warm_n_iter": 20}'], tmp_path / "server.log")
        browser = chromium()
        wait_until(lambda: _opens(browser, f"http://127.0.0.1:{port}/"), 90, "the page", server,
                   tmp_path / "server.log")

        def shown_epoch(driver) -> int | None:
            found = re.search(r"epoch (\d+):", driver.find_element("id", "frame-info").text)
            return int(found.group(1)) if found and int(found.group(1)) >= 2 else None

        epoch = WebDriverWait(browser, 120, poll_frequency=0.2).until(shown_epoch)
        assert epoch >= 2 and script.poll() is None  # shown while the script still trains
        assert "user-run" in browser.find_element("id", "run-name").text
        if SCREENSHOTS:
            os.makedirs(SCREENSHOTS, exist_ok=True)
            browser.save_screenshot(os.path.join(SCREENSHOTS, "logdir-live.png"))
        release.touch()
        assert script.wait(timeout=120) == 0, (tmp_path / "train.log").read_text()[-3000:]
        assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        release.touch()
        if browser is not None:
            browser.quit()
        if server is not None:
            stop(server)
        stop(script)


def _opens(browser, url: str) -> bool:
    try:
        browser.get(url)
        return bool(browser.find_elements("id", "frame-info"))
    except Exception:  # the server is not answering yet
        return False
