/* Generated from dashboard/vocab.py BROWSER_IDS by `python -m dashboard.vocab`: do not edit. The ids of
 * the page's components that assets/epochscope.js reads or writes itself. */
window.EpochScopeIds = Object.freeze({
    map: "map",
    mapB: "map-b",
    epoch: "epoch-slider",
    epochRested: "epoch-rested",
    frameInfo: "frame-info",
    layerShown: "layer-shown",
    trainingCurves: "training-curves",
    ckaLayers: "cka-layers",
    ckaEpochs: "cka-epochs",
    neuronMap: "neuron-map",
    neuronSelectivity: "neuron-selectivity",
});
