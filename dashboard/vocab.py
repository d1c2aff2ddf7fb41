"""The page's vocabulary, in one place: the ids of components that more than one module reads or writes, the
map's modes and colours, and the order of the fields of a map point's ``customdata``.

The browser's code gets the colours and the customdata order in every sequence payload (``style``,
:func:`dashboard.service.sequence_payload`; schema: ``dashboard/payload-schema.json``) and the ids it reads itself
from the generated ``assets/epochscope-ids.js`` (:data:`BROWSER_IDS`), so they are written here only.
"""

import json

#: which run (or ``sweep:<id>``) is on show: the run picker, the input of nearly every callback
RUN = "run-picker"
#: bumped when the run on show has more to show (an epoch recorded, a frame laid out, the job done): panels that
#: read the store refresh on it (:func:`dashboard.progress.page_progress`)
RUN_VERSION = "run-version"
#: a beta sweep's slider (positions 0 .. n - 1, one per beta) and its row, shown for a run of a sweep
BETA_SLIDER, BETA_ROW = "beta-slider", "beta-row"
#: whether Play steps through the epochs (store, set by the Play button and when the last epoch is reached)
PLAYING = "playing"
#: a request to show a layer and / or an epoch (store: ``{"layer": int | None, "epoch": int | None}``), written
#: by every panel that navigates (a click on the curves, a CKA cell, a unit of the neuron map) and applied within
#: the run's range by the controls alone, which own the sliders
GO_TO = "go-to"
#: the hidden layer on show (slider) and the layer the map has drawn (store, set by the browser once drawn)
LAYER = "layer-slider"
LAYER_SHOWN = "layer-shown"
#: the epoch on show (slider) and the epoch it rested on (store, set by the browser after a scrub)
EPOCH = "epoch-slider"
EPOCH_RESTED = "epoch-rested"
#: the map's view: graph mode (``knn`` | ``bipartite``), layout method and what the samples are coloured by
GRAPH_MODE = "graph-mode"
METHOD = "method"
COLOUR_BY = "colour-by"
#: the layer's sequence payload (:func:`dashboard.service.sequence_payload`) and the map's figures
SEQUENCE = "sequence"
MAP = "map"
MAP_B = "map-b"
#: the figures the browser marks with the epoch on show without asking the server
TRAINING_CURVES = "training-curves"
CKA_LAYERS = "cka-layers"
CKA_EPOCHS = "cka-epochs"
NEURON_MAP = "neuron-map"
NEURON_SELECTIVITY = "neuron-selectivity"
#: the line under the map (the frame's numbers)
FRAME_INFO = "frame-info"
#: the selected sample ({"run", "sample"}) and neuron (unit index), shared by the map, inspector and panels
SELECTED = "selected"
SELECTED_NEURON = "selected-neuron"
#: what changed most between two epochs (store) and the data map (figure), both click to select a sample
CHANGED = "changed"
CARTOGRAPHY = "cartography"
#: the story panel's timeline of the run's events, and the event clicked last (store: ``{"run", "layer", "epoch",
#: "pos", "text"}``: the analysis panel rings its samples, ``pos``, once the map shows its frame)
STORY_TIMELINE = "story-timeline"
EVENT_FOCUS = "event-focus"
#: the background job's message (text only: panels refresh on :data:`RUN_VERSION`)
JOB_MESSAGE = "job-message"
#: the compared run (dropdown) and its aligned view
COMPARE_PICKER = "compare-picker"
COMPARE_VIEW = "compare-view"
#: the page's URL and its state: read in, applied, problems found in it
URL = "url"
URL_IN = "url-in"
URL_APPLIED = "url-applied"
URL_PROBLEMS = "url-problems"
#: the run's name in the header
RUN_NAME = "run-name"
#: the run on show's name alone (for the URL and the browser tab's title)
RUN_LABEL = "run-label"

#: the ids the browser's code reads or writes itself (assets/epochscope.js), sent to it as ``window.EpochScopeIds``
#: by the generated ``assets/epochscope-ids.js`` (:func:`browser_ids_script`; ``python -m dashboard.vocab`` writes
#: it, and a test fails while it is stale)
BROWSER_IDS = {"map": MAP, "mapB": MAP_B, "epoch": EPOCH, "epochRested": EPOCH_RESTED, "frameInfo": FRAME_INFO,
               "layerShown": LAYER_SHOWN, "trainingCurves": TRAINING_CURVES, "ckaLayers": CKA_LAYERS,
               "ckaEpochs": CKA_EPOCHS, "neuronMap": NEURON_MAP, "neuronSelectivity": NEURON_SELECTIVITY}

# -- the map's modes ---------------------------------------------------------------------------------------------
#: graph-mode choices: LayoutParams.graph -> label
GRAPH_MODES = {"knn": "samples", "bipartite": "neuron x sample"}
#: layout-method choices: frames.index.METHODS -> label
METHOD_LABELS = {"ours": "ours", "umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}
#: what the map's samples are coloured by -> label
COLOUR_MODES = {"class": "true class", "predicted": "predicted class", "correct": "correct / wrong",
                "sensitivity": "sensitivity", "scrambled": "scrambled", "learned": "when learned"}

# -- colours ------------------------------------------------------------------------------------------------------
#: Paul Tol's "muted" qualitative palette (colour-blind safe), grey for a tenth class
CLASS_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
                 "#DDCC77", "#CC6677", "#882255", "#AA4499", "#777777")
#: the map's other colours: correct / wrong predictions, clean / scrambled samples, the selection ring
MAP_COLOURS = {"correct": "#44AA99", "wrong": "#CC3311", "clean": "#BBBBBB", "scrambled": "#EE7733",
               "selected": "#000", "neuron": "#000", "dead": "#8a8a8a"}

# -- what a click on the map reads --------------------------------------------------------------------------------
#: the fields of a map point's ``customdata``, in order: the sample's index in the data set (-1 for a neuron), its
#: true class, its predicted class (-1 when none), the prediction's confidence, its sensitivity, and its node in
#: the frame (a neuron's unit index for a neuron)
CUSTOMDATA = ("sample", "label", "predicted", "confidence", "sensitivity", "node")


def custom_field(customdata: list, name: str):
    """Field ``name`` of :data:`CUSTOMDATA` from a clicked point's ``customdata``."""
    return customdata[CUSTOMDATA.index(name)]


def browser_ids_script() -> str:
    """The text of ``assets/epochscope-ids.js``: :data:`BROWSER_IDS` for the browser's code."""
    entries = ",\n".join(f"    {name}: {json.dumps(value)}" for name, value in BROWSER_IDS.items())
    return ("/* Generated from dashboard/vocab.py BROWSER_IDS by `python -m dashboard.vocab`: do not edit. The ids of\n"
            " * the page's components that assets/epochscope.js reads or writes itself. */\n"
            f"window.EpochScopeIds = Object.freeze({{\n{entries},\n}});\n")


if __name__ == "__main__":
    from pathlib import Path

    (Path(__file__).resolve().parent.parent / "assets" / "epochscope-ids.js").write_text(browser_ids_script())
