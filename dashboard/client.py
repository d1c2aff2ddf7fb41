"""A small HTTP client of a running EpochScope server's callback endpoint, as the page's own requests look: for
the load benchmark and the forged-request tests (no browser needed)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from dashboard.guard import output_ids


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body text, and milliseconds it took."""

    status: int
    text: str
    ms: float

    def json(self):
        return json.loads(self.text) if self.text else None


class DashClient:
    """Requests to one server at ``base`` (``http://127.0.0.1:8050``), callbacks found by their outputs."""

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.dependencies = {d["output"]: d for d in self.get_json("/_dash-dependencies")}

    def get_json(self, path: str):
        with urllib.request.urlopen(self.base + path, timeout=self.timeout) as response:
            return json.loads(response.read())

    def triggered_by(self, prop: str) -> list[str]:
        """The server callbacks (background jobs aside) that the page calls when ``prop`` (``"id.property"``)
        changes: those with it among their inputs."""
        return [key for key, d in self.dependencies.items()
                if not d.get("clientside_function") and not d.get("background")
                and any(f"{i['id']}.{i['property']}" == prop for i in d["inputs"])]

    def output_key(self, first_output: str) -> str:
        """The callback whose outputs start with ``first_output`` (``"sequence.data"``)."""
        for key in self.dependencies:
            if key == first_output or key.startswith(f"..{first_output}..."):
                return key
        raise KeyError(f"no callback outputs {first_output}")

    def body(self, output: str, values: dict[str, object], state: dict[str, object] | None = None,
             changed: str | None = None) -> dict:
        """The request body for callback ``output`` with input values by ``"id.property"`` (missing: ``None``)."""
        spec = self.dependencies[output]
        outputs = output_ids(output)
        state = state or {}

        def dep(d, given):
            value = given.get(f"{d['id']}.{d['property']}")
            if d["id"].startswith("{"):  # a pattern (ALL): the matching components, here none unless given
                return value if isinstance(value, list) else []
            return {"id": d["id"], "property": d["property"], "value": value}

        def deps(items, given):
            return [dep(d, given) for d in items]

        first = spec["inputs"][0]
        return {"output": output, "outputs": outputs if output.startswith("..") else outputs[0],
                "inputs": deps(spec["inputs"], values), "state": deps(spec.get("state", []), state),
                "changedPropIds": [changed or f"{first['id']}.{first['property']}"]}

    def post(self, body, raw: bytes | None = None, query: dict[str, str] | None = None) -> Reply:
        """POST a callback request (``raw`` bytes instead of ``body`` as JSON, for malformed requests; ``query``:
        a background job's handles, ``{"cacheKey", "job"}``, to ask how it goes, as the page polls)."""
        data = raw if raw is not None else json.dumps(body).encode()
        url = self.base + "/_dash-update-component" + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        return Reply(status, text, 1000 * (time.perf_counter() - start))

    def call(self, first_output: str, values: dict[str, object], state: dict[str, object] | None = None,
             changed: str | None = None) -> Reply:
        """Call the callback whose outputs start with ``first_output``."""
        return self.post(self.body(self.output_key(first_output), values, state, changed))
