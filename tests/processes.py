"""Real server processes for tests (gunicorn, redis-server, Celery workers, each logging to a file) and the
browser that opens them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``args`` in the repository root in its own process group, output to ``log``."""
    return subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(predicate, timeout: float, what: str, process: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-3000:] if log else ""
            raise RuntimeError(f"{what}: the process exited ({process.returncode}):\n{tail}")
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}"
                       + (f":\n{log.read_text()[-3000:]}" if log else ""))


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--window-size=1366,900")


def chromium():
    """Debian's Chromium, headless, driven by selenium (for tests that start their own servers)."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


def gunicorn(port: int, log: Path, env: dict[str, str], workers: int = 2) -> subprocess.Popen:
    """gunicorn serving the app as the README says, on 127.0.0.1:``port``; returns once it answers."""
    process = start([sys.executable, "-m", "gunicorn", "--worker-class", "epochscope.app.http_worker.Worker",
                     "--workers", str(workers), "--threads", "4", "--bind", f"127.0.0.1:{port}", "--timeout", "120",
                     "epochscope.app.wsgi:server"], log, env)
    wait_until(lambda: answers(f"http://127.0.0.1:{port}/_dash-layout"), 90, "gunicorn", process, log)
    return process
