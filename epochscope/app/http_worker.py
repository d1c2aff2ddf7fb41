"""The HTTP servers' own error answers, made to look like the app's.

gunicorn and Werkzeug's development server answer some requests themselves before the app sees them (a request
line too long: 414; a malformed request: 400) with an HTML page and no security headers. :class:`Worker`
(gunicorn's threaded worker: ``--worker-class epochscope.app.http_worker.Worker``, as ``make serve`` runs it) and
:class:`RequestHandler` (``app.py`` / ``epochscope serve``) answer them as the app answers its refusals: JSON
``{"error": "<status>"}`` with the security headers (:data:`dashboard.guard.SECURITY_HEADERS`) and a
Content-Security-Policy that allows nothing.
"""

from __future__ import annotations

import json
import logging

from gunicorn.workers.gthread import ThreadWorker
from werkzeug.serving import WSGIRequestHandler

from dashboard.guard import SECURITY_HEADERS

logger = logging.getLogger(__name__)


#: the headers of an error answer the HTTP server writes itself, besides its length
ERROR_HEADERS = {"Connection": "close", "Content-Type": "application/json",
                 "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'", **SECURITY_HEADERS}


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
    headers = {**ERROR_HEADERS, "Content-Length": str(len(body))}
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


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's development server's request handler whose own error answers are the app's kind of refusal."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        text = f"{code} {message or self.responses.get(code, ('error',))[0]}"
        body = json.dumps({"error": text}).encode()
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, message)
        for name, value in {**ERROR_HEADERS, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)
