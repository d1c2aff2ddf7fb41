"""What stands between a request and the callbacks: bad requests get a 4xx naming what is wrong, a callback that
fails on what it was sent gets a message in the page, and neither takes the server down or shows a traceback.

The browser only sends what the page's own components hold, but anyone can POST to ``/_dash-update-component``:
the body must be a JSON object naming a registered callback with exactly its inputs and states, within
:data:`MAX_BODY_BYTES`. Each callback checks the values it receives (ranges, types, run ids) and answers with a
message; :func:`callback_error` is the backstop for anything they did not foresee.
"""

from __future__ import annotations

import json
import logging

from dash import Dash, set_props
from flask import jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from dashboard.background import REFUSED

logger = logging.getLogger(__name__)

#: the largest request body accepted (the map's figure, sent for a PNG / SVG export, is the largest: ~2 MB)
MAX_BODY_BYTES = 32 * 2**20
#: the deepest a request body may nest (the page's deepest, an exported figure's marker line, is 6)
MAX_DEPTH = 32
DISPATCH = "/_dash-update-component"
#: the names a local server answers to whatever the settings say (``EPOCHSCOPE_ALLOWED_HOSTS`` adds others)
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
#: headers every answer carries besides the page's Content-Security-Policy (the HTTP server's own answers too:
#: :mod:`epochscope.app.http_worker`)
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
#: where Dash serves its own files: a name it cannot serve is a 404, whatever went wrong finding it
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")


def _bad(message: str, status: int = 400):
    response = jsonify(error=message)
    response.status_code = status
    return response


def _dependencies(items, what: str, declared: list[dict]) -> str | None:
    """Why ``items`` (a request's inputs, state or outputs) do not match the callback's ``declared`` ones."""
    if not isinstance(items, list):
        return f"{what} must be a list"
    if len(items) != len(declared):
        return f"{what} must have {len(declared)} items, got {len(items)}"
    for k, (item, want) in enumerate(zip(items, declared)):
        if want["id"].startswith("{"):  # a pattern (ALL): the matching components, each with a dict id
            if not isinstance(item, list) or not all(
                    isinstance(i, dict) and isinstance(i.get("id"), dict) and i.get("property") == want["property"]
                    for i in item):
                return f"{what}[{k}] must be a list of {want['id']}.{want['property']}"
        elif not isinstance(item, dict) or item.get("id") != want["id"] or item.get("property") != want["property"]:
            return f"{what}[{k}] must be {want['id']}.{want['property']}"
    return None


def output_ids(output: str) -> list[dict[str, str]]:
    """The outputs a callback key names (``"a.b"``, or ``"..a.b...c.d@hash.."`` for several), as the
    ``{"id", "property"}`` items of a request's ``outputs``."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), part.rsplit(".", 1))) for part in parts]


def depth(value, limit: int) -> int:
    """How deep ``value`` (parsed JSON) nests, counted without recursion, up to ``limit + 1``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def check_body(app: Dash, body) -> str | None:
    """Why a callback request's JSON ``body`` is not one the page could send (``None`` when it is)."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if depth(body, MAX_DEPTH) > MAX_DEPTH:
        return f"the body must nest at most {MAX_DEPTH} levels deep"
    output = body.get("output")
    if not isinstance(output, str) or "callback" not in app.callback_map.get(output, {}):
        return "output must name one of the app's server callbacks"
    spec = app.callback_map[output]
    outputs = body.get("outputs")
    problem = _dependencies(outputs if output.startswith("..") else [outputs], "outputs", output_ids(output))
    if problem:
        return problem
    for field in ("inputs", "state"):
        problem = _dependencies(body.get(field, []), field, spec.get(field, []))
        if problem:
            return problem
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "changedPropIds must be a list of strings"
    return None


def content_security_policy(inline_script_hashes: list[str]) -> str:
    """The page's Content-Security-Policy: everything from the server itself; inline scripts only Dash's own (by
    their hashes); ``'unsafe-eval'`` because plotly.js's WebGL traces compile their shaders' code with
    ``Function``; inline styles (Dash and Plotly set them); images from data: and blob: URLs (Plotly's, and
    downloads); no plugin, no frame around it, no other base or form target."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' 'unsafe-eval' " + " ".join(inline_script_hashes),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]).strip()


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether a request's ``Host`` (``name[:port]``, ``[v6]:port``) names one of ``allowed`` (``"*"``: any)."""
    if "*" in allowed:
        return True
    name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.rsplit(":", 1)[0]
    return name.lower() in allowed


def install(app: Dash, allowed_hosts: tuple[str, ...] = LOCAL_HOSTS) -> None:
    """Check callback requests before Dash sees them, cap their size and nesting, answer only requests naming
    an ``allowed_hosts`` host, answer every refusal as JSON naming what is wrong (a 4xx; a failure in
    dispatching a callback is a 400 logged with its traceback, never a 500 page) and give every answer the
    security headers."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    policy: list[str] = []  # made at the first answer, once every callback is registered

    @server.before_request
    def _check_host():
        if not host_allowed(request.host, allowed_hosts):
            logger.warning("Refused a request for host %r from %s", request.host[:100], request.remote_addr)
            return _bad(f"host {request.host[:100]!r} is not one this server answers to (set "
                        "EPOCHSCOPE_ALLOWED_HOSTS to add it)")
        return None

    @server.after_request
    def _security_headers(response):
        if not policy:
            policy.append(content_security_policy(list(app.csp_hashes())))
        response.headers["Content-Security-Policy"] = policy[0]
        response.headers.update(SECURITY_HEADERS)
        return response

    @server.before_request
    def _check_callback_request():
        if request.method != "POST" or not request.path.endswith(DISPATCH):
            return None
        body, refusal = read_body()
        if refusal is not None:
            return refusal
        problem = check_body(app, body)
        if problem:
            logger.warning("Refused a callback request from %s: %s", request.remote_addr, problem)
            return _bad(f"bad callback request: {problem}")
        return None

    server.register_error_handler(Exception, answer_error)


def read_body():
    """The request's JSON body (``None`` when it is not JSON or is empty) and a refusal: 413 when it is over
    :data:`MAX_BODY_BYTES`, 411 for a body sent in chunks (no length: Werkzeug does not read it under gunicorn,
    and the page never sends one), 400 when it nests too deeply for the parser."""
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        return None, _bad(f"a callback request must give its Content-Length (at most {MAX_BODY_BYTES:,} bytes): "
                          "a body sent in chunks is not read", 411)
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raw = None
    if raw is None or len(raw) > MAX_BODY_BYTES:
        return None, _bad(f"the body must be at most {MAX_BODY_BYTES:,} bytes", 413)
    try:
        return json.loads(raw), None
    except RecursionError:
        return None, _bad(f"bad callback request: the body must nest at most {MAX_DEPTH} levels deep")
    except ValueError:
        return None, None


def answer_error(exc: Exception):
    """Every failure as a JSON answer: Werkzeug's own refusals (404, 405, 413...) as ours, a file Dash cannot
    serve as a 404, a callback request that fails in dispatch as a 400 naming the failure's kind, anything else
    as a 500 that says only to read the log (which has the traceback)."""
    if isinstance(exc, HTTPException):
        return _bad(f"{exc.name}: {exc.description}" if exc.description else exc.name, exc.code or 400)
    if request.path.startswith(STATIC_PREFIXES):  # e.g. a path that climbs out of a package
        logger.warning("No file for %s (%s)", request.path[:200], type(exc).__name__)
        return _bad("no such file", 404)
    if request.path.endswith(DISPATCH):
        logger.exception("A callback request failed in dispatch")
        return _bad(f"bad callback request: a value the callbacks could not use ({type(exc).__name__})")
    logger.exception("Request %s failed", request.path)
    return _bad("internal error (see the server log)", 500)


def callback_error(exc: Exception):
    """Dash's ``on_error``: a callback raised on what it was sent. The page says so; its outputs stay as they were
    (``None`` means no update)."""
    logger.warning("A callback failed: %s: %s", type(exc).__name__, exc, exc_info=logger.isEnabledFor(logging.DEBUG))
    set_props("server-problems", {"children": problem_text(exc)})
    return None


def problem_text(exc: Exception) -> str:
    """What the page says of a failed callback: a refusal of ours as it is; any other failure by its kind only,
    never its message or traceback (server paths, code), which the log keeps."""
    text = str(exc)
    if REFUSED in text:
        return text[text.index(REFUSED) + len(REFUSED):].split("\n", 1)[0][:300]
    kind = "a background job failed" if "background callback" in text else f"{type(exc).__name__}"
    return f"The server could not use that request ({kind}; its log says why); the view is unchanged."
