"""Serving many users: the app under gunicorn (several workers and threads sharing the store), and every
callback request a forger could send it answered with a message in the page or a 4xx, never a 500, with the
server serving on."""

import http.client
import json
import shutil
import urllib.parse

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.client import DashClient
from dashboard.typed import decode
from frames import compute as frames_compute
from layout_engine.params import LayoutParams
from models.store import RunStore
from tests.processes import answers, free_port, gunicorn, stop


@pytest.fixture(scope="module")
def served(trained_store_dir, tiny_config, tmp_path_factory):
    """gunicorn (2 workers x 4 threads) on a copy of the trained store with its frames laid out."""
    home = tmp_path_factory.mktemp("serving")
    store_dir = home / "store"
    shutil.copytree(trained_store_dir, store_dir)
    store = RunStore(store_dir)
    frames_compute.compute_frames(store, store.run_info(tiny_config.run_id), LayoutParams())
    store.close()
    port, log = free_port(), home / "gunicorn.log"
    process = gunicorn(port, log, {"EPOCHSCOPE_HOME": str(store_dir), "EPOCHSCOPE_RUN": tiny_config.run_id})
    yield DashClient(f"http://127.0.0.1:{port}"), log
    stop(process)


def response_of(reply) -> dict:
    assert reply.status == 200, reply.text[:500]
    return reply.json()["response"]


def test_gunicorn_serves_the_page_and_a_layers_frames(served, tiny_config):
    client, _ = served
    assert answers(client.base + "/")
    reply = client.call("sequence.data", {"run-picker.value": tiny_config.run_id, "layer-slider.value": 1,
                                          "graph-mode.value": "knn", "method.value": "ours"})
    payload = response_of(reply)["sequence"]["data"]
    assert payload["run"] == tiny_config.run_id and sorted(payload["frames"]) == ["0", "1", "2", "3"]
    # each epoch's arrays over plain HTTP, as the page fetches them
    frame = requests.get(f"{client.base}/frames/{tiny_config.run_id}/1/3?graph=knn&method=ours", timeout=30)
    assert frame.status_code == 200 and frame.headers["Content-Type"] == "application/json"
    body = frame.json()
    assert body["version"] == payload["frames"]["3"]["version"] and len(decode(body["x"])) == 240
    samples = requests.get(f"{client.base}/samples/{tiny_config.run_id}", timeout=30).json()
    assert samples["version"] == payload["samples_version"] and len(decode(samples["labels"])) == 240
    # a frame asked for ahead of need that is not laid out yet is no error: 204
    ahead = requests.get(f"{client.base}/frames/{tiny_config.run_id}/1/3?method=umap&optional=1", timeout=30)
    assert ahead.status_code == 204 and ahead.content == b""


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/frames/{run}/9/0", 400, "layer must be in 0..1, got '9'"),
    ("/frames/{run}/-1/0", 400, "layer must be in 0..1, got '-1'"),
    ("/frames/{run}/1/99", 400, "epoch must be in 0..3, got '99'"),
    ("/frames/{run}/1/x", 400, "epoch must be in 0..3, got 'x'"),
    ("/frames/{run}/1/0?method=mds", 400, "method must be one of ours, umap, tsne, pca"),
    ("/frames/{run}/1/0?graph=full", 400, "graph must be one of knn, bipartite"),
    ("/frames/{run}/1/0?graph=bipartite&method=pca", 400, "PCA lays out samples only"),
    ("/frames/..%5C..%5Cetc%5Cpasswd/1/0", 404, "is not in the store"),
    ("/frames/mlp-digits-000000000000/1/0", 404, "is not in the store"),
    ("/samples/mlp-digits-000000000000", 404, "is not in the store"),
    ("/frames/{run}/1/0?method=umap", 404, "epoch 0 of layer 1 is not laid out yet"),
    ("/frames/{run}/" + "9" * 4000 + "/0", 400, "layer must be in 0..1, got '9999"),
    ("/_dash-component-suites/dash/..%2F..%2F..%2Fsetup.py", 404, "no such file"),  # was a 500
    ("/_dash-component-suites/dash/deps/..%2F..%2F_callback.py", 404, "no such file"),
])
def test_a_bad_frame_request_is_named_and_the_server_goes_on(served, tiny_config, path, status, message):
    client, _ = served
    reply = requests.get(client.base + path.format(run=tiny_config.run_id), timeout=30)
    assert reply.status_code == status and message in reply.json()["error"]
    assert requests.get(f"{client.base}/frames/{tiny_config.run_id}/0/0", timeout=30).status_code == 200


SEQUENCE = {"graph-mode.value": "knn", "method.value": "ours", "layer-slider.value": 0}


@pytest.mark.parametrize(("values", "message"), [
    ({"layer-slider.value": 99}, "layer must be in 0..1, got 99"),
    ({"layer-slider.value": -1}, "layer must be in 0..1, got -1"),
    ({"layer-slider.value": "1; rm -rf /"}, "layer must be a whole number"),
    ({"layer-slider.value": 10 ** 30}, "layer must be in 0..1"),
    ({"layer-slider.value": [1]}, "layer must be a whole number"),
    ({"run-picker.value": "../../etc/passwd"}, "run '../../etc/passwd' is not in the store"),
    ({"run-picker.value": "sweep:../x"}, "sweep '../x' is not in the store"),
    ({"run-picker.value": 12345}, "run must be a run id, got 12345"),
    ({"graph-mode.value": "<script>"}, "graph must be one of knn, bipartite"),
    ({"method.value": "__import__('os')"}, "method must be one of ours, umap, tsne, pca"),
])
def test_a_forged_map_request_gets_a_message_naming_the_field(served, tiny_config, values, message):
    client, _ = served
    reply = client.call("sequence.data", {"run-picker.value": tiny_config.run_id, **SEQUENCE, **values})
    assert message in response_of(reply)["sequence"]["data"]["error"]


def test_values_no_check_foresaw_get_a_message_in_the_page(served, tiny_config):
    client, _ = served
    # Python's JSON reads Infinity: int(inf) raises OverflowError, which no callback checks for itself
    body = client.body(client.output_key("sequence.data"),
                       {"run-picker.value": tiny_config.run_id, **SEQUENCE, "layer-slider.value": 0})
    body["inputs"][1]["value"] = float("inf")
    reply = client.post(None, raw=json.dumps(body).encode())
    assert reply.status == 200
    side = reply.json()["sideUpdate"]["server-problems"]["children"]
    assert "could not use that request" in side and "OverflowError" in side


@pytest.mark.parametrize(("raw", "status", "message"), [
    (b"not json", 400, "the body must be a JSON object"),
    (b"[1, 2]", 400, "the body must be a JSON object"),
    (b'{"output": "nope.children"}', 400, "output must name one of the app's server callbacks"),
    (b'{"output": "play-interval.interval"}', 400, "server callbacks"),  # a clientside callback
    (b'{"output": "sequence.data"}', 400, None),  # not the full output list of the callback
])
def test_a_malformed_request_gets_a_400_naming_the_problem(served, raw, status, message):
    client, _ = served
    reply = client.post(None, raw=raw)
    assert reply.status == status and "Traceback" not in reply.text
    if message:
        assert message in reply.json()["error"]


def test_wrong_dependencies_and_huge_bodies_are_refused(served, tiny_config):
    client, _ = served
    body = client.body(client.output_key("sequence.data"), {"run-picker.value": tiny_config.run_id, **SEQUENCE})
    short = dict(body, inputs=body["inputs"][:2])
    assert client.post(short).status == 400 and "inputs must have 6 items" in client.post(short).json()["error"]
    renamed = json.loads(json.dumps(body))
    renamed["inputs"][0]["id"] = "epoch-slider"
    assert "inputs[0] must be run-picker.value" in client.post(renamed).json()["error"]
    # a 40 MiB body is refused from its Content-Length, before it is read
    connection = http.client.HTTPConnection(urllib.parse.urlparse(client.base).netloc, timeout=30)
    connection.putrequest("POST", "/_dash-update-component")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(40 * 2**20))
    connection.endheaders()
    connection.send(b"{" + b" " * 4096)
    reply = connection.getresponse()
    assert reply.status == 413 and "at most 33,554,432 bytes" in json.loads(reply.read())["error"]
    connection.close()
    # a chunked body has no length: it is not read (was 400 "the body must be a JSON object")
    chunk = b" " * 2**20

    def chunks():
        yield b"{"
        for _ in range(40):
            yield chunk

    reply = requests.post(client.base + "/_dash-update-component", data=chunks(),
                          headers={"Content-Type": "application/json"}, timeout=60)
    assert reply.status_code == 411 and "must give its Content-Length" in reply.json()["error"]
    # a body nested 100,000 deep is named as such (was 400 "RecursionError")
    reply = client.post(None, raw=b"[" * 100_000 + b"]" * 100_000)
    assert reply.status == 400 and "the body must nest at most 32 levels deep" in reply.json()["error"]
    nested = json.loads(json.dumps(body))
    nested["inputs"][0]["value"] = json.loads("[" * 40 + "]" * 40)
    assert "the body must nest at most 32 levels deep" in client.post(nested).json()["error"]


def test_the_http_servers_own_refusals_carry_the_headers_too(served):
    """Answers gunicorn writes itself, before the app sees a request (414, 400), were HTML pages without the
    security headers: they are JSON with them (epochscope.app.http_worker)."""
    client, _ = served
    netloc = urllib.parse.urlparse(client.base).netloc
    for request_line, status in ((f"GET /{'x' * 5000} HTTP/1.1", 414), ("GARBAGE\x01 / HTTP/1.1", 400)):
        connection = http.client.HTTPConnection(netloc, timeout=30)
        connection.connect()
        connection.sock.sendall(f"{request_line}\r\nHost: 127.0.0.1\r\n\r\n".encode("latin1"))
        reply = http.client.HTTPResponse(connection.sock)
        reply.begin()
        assert reply.status == status
        assert reply.getheader("X-Frame-Options") == "DENY" and reply.getheader("X-Content-Type-Options") == "nosniff"
        assert "default-src 'none'" in reply.getheader("Content-Security-Policy")
        assert json.loads(reply.read())["error"].startswith(str(status))
        connection.close()


def test_a_request_for_another_host_is_refused(served):
    """A server on 127.0.0.1 answers only to its own names: a page elsewhere that rebinds its own name to
    127.0.0.1 (DNS rebinding) gets nothing; every answer, refusals too, carries the security headers."""
    client, _ = served
    for host, status in (("evil.example", 400), ("evil.example:8050", 400), ("localhost:8050", 200),
                         ("127.0.0.1", 200), ("[::1]:8050", 200)):
        reply = requests.get(client.base + "/_dash-layout", headers={"Host": host}, timeout=30)
        assert reply.status_code == status, host
        assert reply.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in reply.headers
        if status == 400:
            assert "is not one this server answers to" in reply.json()["error"]


#: anything JSON can carry, NaN and Infinity included (Python's JSON reads them)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
    | st.sampled_from(["../../etc/passwd", "sweep:x", "mlp-digits-000000000000", "knn", "ours", "class"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_any_values_to_any_callback_never_get_a_500(served, data):
    """Every server callback (background jobs aside: each would start a process) with values of any type."""
    client, log = served
    callbacks = sorted(k for k, d in client.dependencies.items()
                       if not d.get("clientside_function") and not d.get("background"))
    output = data.draw(st.sampled_from(callbacks), label="callback")
    spec = client.dependencies[output]
    values = {f"{d['id']}.{d['property']}": data.draw(JSON_VALUES, label=d["id"]) for d in spec["inputs"]}
    state = {f"{d['id']}.{d['property']}": data.draw(JSON_VALUES, label=d["id"]) for d in spec.get("state", [])}
    reply = client.post(client.body(output, values, state))
    assert reply.status in (200, 204, 400), (output, reply.status, reply.text[:300])
    assert "Traceback" not in reply.text


def test_the_server_kept_serving_and_nothing_failed_in_dispatch(served):
    client, log = served
    assert answers(client.base + "/")
    text = log.read_text()
    assert "failed in dispatch" not in text and "Traceback" not in text, text[-3000:]
