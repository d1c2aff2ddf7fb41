"""gunicorn's threaded worker, whose own error answers look like the app's.

gunicorn answers some requests itself before the app sees them (a request line over 4 KiB: 414; a malformed
request: 400) with an HTML page and no security headers. This worker answers them as the app answers its
refusals: JSON ``{"error": "<status>"}`` with the security headers (:data:`dashboard.guard.SECURITY_HEADERS`)
and a Content-Security-Policy that allows nothing. Use it with ``--worker-class epochscope.app.http_worker.Worker``
(``make serve`` does).
"""

from __future__ import annotations

import json
import logging

from gunicorn.workers.gthread import ThreadWorker

from dashboard.guard import SECURITY_HEADERS

logger = logging.getLogger(__name__)


def as_app_answer(raw: bytes) -> bytes:
    """gunicorn's error answer ``raw`` (status line, headers, HTML page) as the app's: the same status, a JSON
    body naming it, the security headers, the connection closed. Anything else is returned as it is."""
    head, sep, _ = raw.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if not sep or not status.startswith(b"HTTP/"):
        return raw
    parts = status.decode("latin1").split(" ", 2)
    text = " ".join(parts[1:]) if len(parts) > 1 else "error"
    body = json.dumps({"error": text}).encode()
    headers = {"Connection": "close", "Content-Type": "application/json", "Content-Length": str(len(body)),
               "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'", **SECURITY_HEADERS}
    lines = [status.decode("latin1"), *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin1") + body


class _Answering:
    """A client socket whose one write (gunicorn's error answer) is rewritten by :func:`as_app_answer`."""

    def __init__(self, sock) -> None:
        self._sock = sock

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(as_app_answer(data))

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class Worker(ThreadWorker):
    """:class:`gunicorn.workers.gthread.ThreadWorker` whose own error answers are the app's kind of refusal."""

    def handle_error(self, req, client, addr, exc) -> None:
        super().handle_error(req, _Answering(client), addr, exc)
