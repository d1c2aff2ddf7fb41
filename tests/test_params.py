"""Layout parameters are checked field by field when built (as umap-learn's test_umap_validation_params.py)."""

from __future__ import annotations

from typing import Any

import pytest

from layout_engine.params import CONSTRAINTS, LayoutParams

#: per field, values it must refuse, and the words of the range its message must name
INVALID: dict[str, tuple[list[Any], str]] = {
    "graph": (["grid", 3, None], "one of 'knn', 'bipartite'"),
    "n_neighbors": ([0, 1, 201, "15", 15.5, True, None], "a whole number in 2..200"),
    "metric": (["manhattan", "", None], "one of 'euclidean', 'cosine'"),
    "top_k": ([0, 2000, "3"], "a whole number in 1..1024"),
    "quantile": ([7, -0.1, float("nan"), "0.9"], "a number in 0..1"),
    "n_iter": ([-5, 0, 10_001, 2.0], "a whole number in 1..10000"),
    "warm_n_iter": ([0, -1, "80"], "a whole number in 1..10000"),
    "learning_rate": ([0, -1.0, float("inf"), "1"], "a number in 1e-06..100"),
    "warm_learning_rate": ([0.0, 101, None], "a number in 1e-06..100"),
    "repulsion": ([-1, 1e9, "2"], "a number in 0..100"),
    "negative_sample_rate": ([0, 101, 5.5], "a whole number in 1..100"),
    "gravity": ([-0.1, "0"], "a number in 0..100"),
    "anchor": ([-3, float("nan")], "a number in 0..100"),
    "guard": ([-0.1, 1.5, True, "0.002"], "None or a number in 0..1"),
    "random_state": ([-1, 2**32, 0.5, "0"], "a whole number in 0..4294967295"),
}


def test_every_field_has_a_constraint_and_invalid_values_to_test() -> None:
    fields = set(LayoutParams.__dataclass_fields__)
    assert set(CONSTRAINTS) == fields
    assert set(INVALID) == fields


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, (values, _) in INVALID.items() for v in values])
def test_an_invalid_value_is_refused_naming_its_field_and_range(field: str, value: object) -> None:
    words = INVALID[field][1]
    with pytest.raises(ValueError, match=rf"^{field} must be {words}, got "):
        LayoutParams(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=rf"^{field} must be"):
        LayoutParams.from_mapping({field: value})


def test_the_defaults_and_the_edges_of_each_range_are_accepted() -> None:
    LayoutParams()
    LayoutParams(n_neighbors=2, top_k=1, quantile=0.0, n_iter=1, warm_n_iter=1, repulsion=0, gravity=0,
                 anchor=0, guard=None, random_state=0, metric="cosine", graph="bipartite")
    LayoutParams(n_neighbors=200, quantile=1.0, n_iter=10_000, guard=1.0, random_state=2**32 - 1)


def test_numbers_are_normalised_so_that_equal_settings_share_one_cache_key() -> None:
    import numpy as np

    a = LayoutParams(learning_rate=1, repulsion=2, n_neighbors=np.int64(15))  # type: ignore[arg-type]
    assert a == LayoutParams(learning_rate=1.0)
    assert a.digest() == LayoutParams(learning_rate=1.0).digest()
    assert type(a.learning_rate) is float and type(a.n_neighbors) is int


def test_an_unknown_field_or_a_non_object_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="unknown layout parameter 'neighbours'; the fields are graph, n_neighbors"):
        LayoutParams.from_mapping({"neighbours": 10})
    with pytest.raises(ValueError, match="must be a JSON object"):
        LayoutParams.from_json("[15]")
    with pytest.raises(ValueError, match="not valid JSON"):
        LayoutParams.from_json("{n_neighbors: 10}")
    assert LayoutParams.from_json('{"guard": null, "n_neighbors": 10}') == LayoutParams(guard=None, n_neighbors=10)
    assert LayoutParams.from_json(LayoutParams(anchor=3).to_json()) == LayoutParams(anchor=3)
