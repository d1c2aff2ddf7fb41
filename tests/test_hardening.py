"""Hardening. The server draws map images with its own Chromium: a forged figure must not make it fetch anything
(http://, file://, an internal address), and the SVG it returns must hold no script or event handler, whatever
the labels say. Every answer carries security headers whose policy allows the page's own inline scripts only."""

import http.server
import threading
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import scipy.sparse as sp

from dashboard.export import graphml, map_image, safe_figure


@pytest.fixture
def listener():
    """A local HTTP server that records every request it gets (it must get none)."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def forged(base: str, tmp_path) -> dict:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    markup = f"<img src='{base}/img' onerror='alert(1)'><script>alert(2)</script><a href='{base}/a'>x</a>"
    return {
        "data": [{"type": "scattergl", "mode": "markers", "x": [0, 1, 2], "y": [1, 0, 1], "name": markup,
                  "marker": {"color": ["#332288", "#88CCEE", "#44AA99"], "size": 8},
                  "hovertemplate": markup, "text": markup, "customdata": [markup] * 3},
                 {"type": "scatter", "x": [0], "y": [0], "name": "url", "marker": {"color": "blue"},
                  "textfont": {"family": f"x; background: url({base}/font)"}}],
        "layout": {"title": {"text": markup}, "legend": {"title": {"text": markup}},
                   "images": [{"source": f"{base}/layout-image", "x": 0, "y": 0, "sizex": 1, "sizey": 1},
                              {"source": secret.as_uri(), "x": 0, "y": 0, "sizex": 1, "sizey": 1}],
                   "annotations": [{"text": f"<a href='{base}/annotation'>link</a>", "x": 0, "y": 0}],
                   "template": {"layout": {"images": [{"source": f"{base}/template-image"}]}},
                   "xaxis": {"range": [-1, 3], "title": {"text": markup}}, "yaxis": {"range": [-1, 2]}},
    }


@pytest.mark.browser  # the server's Chromium (kaleido) draws the image
@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_a_forged_figure_fetches_nothing_and_its_svg_holds_nothing_active(listener, tmp_path, fmt):
    base, seen = listener
    image = map_image(forged(base, tmp_path), fmt)
    assert seen == []  # neither the images, the template's image, a link nor a font was fetched
    if fmt == "svg":
        root = ET.fromstring(image)
        for element in root.iter():
            assert not element.tag.endswith(("script", "foreignObject", "image"))
            for name, value in element.attrib.items():
                assert not name.lower().startswith("on")
                if name.endswith("href"):
                    assert value.startswith(("#", "data:")), value
        text = "".join(root.itertext())
        assert "<img src=" in text  # the label shown as written, not parsed
    else:
        assert image.startswith(b"\x89PNG")


def test_the_safe_figure_keeps_what_the_map_draws_and_nothing_else(tmp_path):
    figure = safe_figure(forged("http://127.0.0.1:9", tmp_path))
    assert set(figure["layout"]) == {"template", "title", "xaxis", "yaxis", "legend", "margin"}
    assert figure["layout"]["template"] == "plotly_white"
    first = figure["data"][0]
    assert set(first) == {"type", "mode", "x", "y", "showlegend", "hoverinfo", "name", "marker"}
    assert first["type"] == "scatter" and first["x"] == [0.0, 1.0, 2.0]
    assert first["name"].startswith("&lt;img") and "<" not in first["name"]
    assert figure["layout"]["xaxis"]["range"] == [-1.0, 3.0]


def test_an_svg_with_anything_active_is_told_apart_from_one_whose_text_says_so():
    from dashboard.export import svg_is_inert

    ns = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
    assert svg_is_inert(f'<svg {ns}><text>&lt;img src=x onerror=alert(1)&gt;</text>'
                        f'<g clip-path="url(#c)"/><rect style="fill: url(\'#g-cb\');"/></svg>'.encode())
    for active in ('<script>alert(1)</script>', '<rect onload="alert(1)"/>', '<image href="http://10.0.0.1/x"/>',
                   '<image xlink:href="file:///etc/passwd"/>', '<rect style="fill: url(http://x/y)"/>',
                   '<rect style="fill: url(\'file:///etc/passwd#x\')"/>',
                   '<foreignObject><div/></foreignObject>'):
        assert not svg_is_inert(f"<svg {ns}>{active}</svg>".encode()), active


def test_every_answer_carries_the_security_headers_and_the_policy_allows_only_the_pages_own_scripts(tmp_path):
    import base64
    import hashlib
    import re

    from dashboard.factory import create_app

    client = create_app(store_dir=tmp_path).server.test_client()
    page = client.get("/")
    for response in (page, client.get("/_dash-layout"), client.get("/samples/nope"), client.get("/nothing")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy and "default-src 'self'" in policy
    live = re.sub(r"<!--.*?-->", "", page.text, flags=re.S)  # a script in a comment never runs
    scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", live, re.S)
    assert scripts, "the page has inline scripts"
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_what_one_client_may_start_is_bounded_and_each_refusal_names_its_limit(store_copy, tiny_config):
    import json

    from dashboard.limits import MAX_BETAS, MAX_TRAINING, record_bytes, start_problems
    from models.config import RunConfig
    from models.store import process_owner

    assert start_problems(store_copy, tiny_config, (1.0,)) == {}
    vae = RunConfig(model="vae", epochs=5)
    assert start_problems(store_copy, vae, tuple(range(MAX_BETAS + 1)))["beta"] == (
        f"a sweep may have at most {MAX_BETAS} betas, got {MAX_BETAS + 1}")
    huge = RunConfig(dataset="mnist1d", n_samples=100_000, hidden=(4096, 4096), epochs=30)
    assert record_bytes(huge) == 50_000 * 8192 * 31 * 8
    refusal = start_problems(store_copy, huge, (1.0,))["hidden"]
    assert "at most 8 GiB: use fewer units, epochs or probe samples" in refusal
    # runs training now (live writers), from anywhere: at most MAX_TRAINING at once
    meta = json.loads(store_copy.runs.get(f"run/{tiny_config.run_id}/meta"))
    for k in range(MAX_TRAINING):
        store_copy.runs.set(f"run/fake{k}/meta", json.dumps(dict(meta, state="training", writer=process_owner())))
        store_copy.runs.set(f"run/fake{k}/config", store_copy.runs.get(f"run/{tiny_config.run_id}/config"))
    problem = start_problems(store_copy, tiny_config, (1.0,)).get("model", "")
    assert problem.startswith(f"at most {MAX_TRAINING} runs train at once on this server"), problem


def test_class_names_with_markup_are_text_in_the_graphml_export():
    names = ("<img src=x onerror=alert(1)>", 'a & "b"', "</data><script>alert(2)</script>")
    coords = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    graph = sp.csr_matrix(np.array([[0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=float))
    text = graphml(graph, coords, sample_index=np.array([10, 11, 12]), labels=np.array([0, 1, 2]), class_names=names)
    root = ET.fromstring(text)  # well-formed: the names did not break out of their elements
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    classes = [d.text for d in root.iterfind(".//g:node/g:data[@key='class']", ns)]
    assert classes == [*names, "neuron"]  # as written, the neuron after the samples
    assert not list(root.iter("script")) and not list(root.iter("{http://graphml.graphdrawing.org/xmlns}script"))
