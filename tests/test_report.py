"""The run report: one self-contained HTML file from the command line, the run prepared first; its story
reads the run's measures, and a bad choice of epochs is named with its range."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from analysis.story import run_story
from epochscope.app.cli import main
from models.store import RunStore


def test_the_report_is_one_self_contained_file_that_tells_the_run(trained_store_dir, tiny_config, tmp_path, capsys):
    store_dir = tmp_path / "store"
    shutil.copytree(trained_store_dir, store_dir)
    out = tmp_path / "report.html"
    assert main(["report", tiny_config.run_id, "--store", str(store_dir), "--out", str(out),
                 "--epochs", "0,3"]) == 0
    text = out.read_text()
    assert str(out) in capsys.readouterr().out
    # nothing fetched: no external script, stylesheet, image or frame
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text)
    assert "Plotly.newPlot" in text and "<h2>The story</h2>" in text and "<h2>Every event</h2>" in text
    figures = json.loads(re.search(r'<script type="application/json" id="figures">(.*?)</script>', text, re.S)
                         .group(1))
    # timeline, small multiples, curves, CKA between layers and per layer, learned, decodable, data map
    assert len(figures) >= 7
    multiples = next(f["figure"] for f in figures if f["section"] == "Each layer over training")
    panels = [t for t in multiples["data"] if t.get("x") and t["x"][0] is not None]
    assert len(panels) == 2 * 2  # every layer at both epochs: the run was laid out before the report
    assert "not laid out yet" not in text
    store = RunStore(store_dir)
    story = run_story(store, tiny_config.run_id)
    assert story is not None and story.n_epochs == tiny_config.epochs + 1
    for event in story.events:  # every event is told, escaped
        assert event.text.replace("&", "&amp;").split(":")[0] in text


def test_a_report_of_epochs_out_of_range_is_refused_by_name(trained_store_dir, tiny_config, tmp_path, capsys):
    store_dir = tmp_path / "store"
    shutil.copytree(trained_store_dir, store_dir)
    with pytest.raises(SystemExit) as exit_:
        main(["report", tiny_config.run_id, "--store", str(store_dir), "--out", str(tmp_path / "r.html"),
              "--epochs", "0,99"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--epochs" in err and "0..3" in err
    assert not (tmp_path / "r.html").exists()


def test_two_runs_are_told_against_each_other_in_the_page(store_copy, tiny_config):
    """The story panel tells the run against the compared one: samples learned much earlier in each (named by
    their data-set index), class pairs separating in one only; a run on other probe samples is not compared."""
    from dataclasses import replace

    from analysis.stage import compute_measures
    from dashboard.panels.story_panel import compare_view
    from models.train import train

    control = replace(tiny_config, scramble="labels", scramble_fraction=1.0)
    other_probe = replace(tiny_config, probe_size=200)
    for config in (control, other_probe):
        train(config, store_copy)
    for config in (tiny_config, control):
        compute_measures(store_copy, store_copy.run_info(config.run_id))
    told = str(compare_view(store_copy, tiny_config.run_id, control.run_id, [str(c) for c in range(10)]))
    assert "Against" in told and "Learned at least 5 epochs earlier here" in told
    assert "Class pairs that separate here and in no layer there" in told
    refused = str(compare_view(store_copy, tiny_config.run_id, other_probe.run_id, []))
    assert "its probe samples are not this run's" in refused
