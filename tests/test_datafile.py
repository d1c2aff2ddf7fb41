"""A user's own data file: what is accepted, and every rejection with its message."""

import numpy as np
import pytest

from models import datafile
from models.config import RunConfig
from models.data import load_dataset
from models.datafile import DataFileError, read_table
from models.store import RunStore
from models.train import train


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _good(n=40, d=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)), np.arange(n) % 2


def test_an_npz_with_string_labels_is_read(tmp_path):
    X, y = _good()
    path = _npz(tmp_path / "d.npz", X=X, y=np.array(["cat", "dog"])[y])
    X2, y2, names = read_table(path)
    np.testing.assert_array_equal(X2, X)
    assert names == ("cat", "dog") and np.array_equal(y2, y)


def test_a_csv_with_a_named_label_column_is_read(tmp_path):
    X, y = _good()
    path = tmp_path / "d.csv"
    lines = ["a,kind,b,c"] + [f"{r[0]},{'xy'[t]},{r[1]},{r[2]}" for r, t in zip(X, y)]
    path.write_text("\n".join(lines))
    X2, y2, names = read_table(path, label_column="kind")
    np.testing.assert_allclose(X2, X)
    assert names == ("x", "y") and np.array_equal(y2, y)


def test_a_file_run_trains_and_a_changed_file_is_a_new_run(tmp_path):
    X, y = _good(n=60)
    path = _npz(tmp_path / "d.npz", X=X, y=y)
    config = RunConfig(dataset="file", data_path=str(path), hidden=(8,), epochs=1)
    store = RunStore(tmp_path / "store")
    train(config, store)
    assert store.run_info(config.run_id).state == "complete"
    assert load_dataset("file", data_path=str(path)).X.max() <= 1.0
    _npz(path, X=X + 1, y=y)
    assert RunConfig(dataset="file", data_path=str(path), hidden=(8,), epochs=1).run_id != config.run_id
    store.close()


def _cases(tmp_path):
    X, y = _good()
    yield "wrong type", tmp_path / "d.txt", "file type must be one of .npz, .csv"
    (tmp_path / "d.txt").write_text("x")
    yield "missing", tmp_path / "nope.npz", "no such file"
    yield "no y", _npz(tmp_path / "a.npz", X=X), "arrays y missing"
    yield "pickled objects", _npz(tmp_path / "b.npz", X=np.array([{"a": 1}] * 40, dtype=object), y=y), \
        "not Python objects"
    bad = tmp_path / "c.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    yield "not a zip", bad, "not a readable .npz"
    yield "1-D X", _npz(tmp_path / "e.npz", X=X[:, 0], y=y), "X must be 2-D"
    yield "text X", _npz(tmp_path / "f.npz", X=X.astype(str), y=y), "X must be numeric"
    yield "2-D y", _npz(tmp_path / "g.npz", X=X, y=y[:, None]), "y must be 1-D"
    yield "length mismatch", _npz(tmp_path / "h.npz", X=X, y=y[:-1]), "X has 40 samples but y has 39 labels"
    yield "too few samples", _npz(tmp_path / "i.npz", X=X[:5], y=y[:5]), "number of samples must be in 10..100000"
    yield "too many features", _npz(tmp_path / "j.npz", X=np.zeros((10, 5000)), y=np.arange(10) % 2), \
        "number of features must be in 1..4096"
    nan = X.copy()
    nan[3, 1] = np.nan
    yield "NaN", _npz(tmp_path / "k.npz", X=nan, y=y), "NaN at sample 3, feature 1"
    inf = X.copy()
    inf[0, 0] = np.inf
    yield "inf", _npz(tmp_path / "l.npz", X=inf, y=y), "infinite at sample 0, feature 0"
    yield "real labels", _npz(tmp_path / "m.npz", X=X, y=y + 0.5), "class labels"
    yield "one class", _npz(tmp_path / "n.npz", X=X, y=np.zeros(40, int)), "number of classes must be in 2..100"
    yield "no label column", _csv(tmp_path / "o.csv", "a,b\n1,2\n"), "label column 'label' not in the header"
    yield "ragged", _csv(tmp_path / "p.csv", "a,label\n1,0\n2\n"), "line 3 has 1 fields, the header has 2"
    yield "text value", _csv(tmp_path / "q.csv", "a,label\n1,0\nabc,1\n"), "line 3: feature value 'abc'"
    # a NaN names the file's own line (blank lines counted) and the column, as an editor shows them
    yield "nan", _csv(tmp_path / "n.csv", "a,width,label\n1,2,0\n\n3,nan,1\n"), \
        "line 4, column 'width': 'nan' is not a finite number"
    latin = tmp_path / "r.csv"
    latin.write_bytes("a,label\n1,\xe9\n".encode("latin-1"))
    yield "not UTF-8", latin, "must be UTF-8"
    yield "header only", _csv(tmp_path / "s.csv", "a,label\n"), "a header row and at least one data row"


def _csv(path, text):
    path.write_text(text)
    return path


def test_every_bad_file_is_rejected_with_a_message_naming_the_problem(tmp_path):
    cases = list(_cases(tmp_path))
    assert len(cases) == 21
    for what, path, message in cases:
        with pytest.raises(DataFileError, match=message.replace(".", r"\.").replace("(", r"\(")):
            read_table(path)
        assert path.name in str(pytest.raises(DataFileError, read_table, path).value), what


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    X, y = _good()
    path = _npz(tmp_path / "big.npz", X=X, y=y)
    monkeypatch.setattr(datafile, "MAX_FILE_BYTES", 100)
    with pytest.raises(DataFileError, match="the limit is 100 bytes"):
        read_table(path)
