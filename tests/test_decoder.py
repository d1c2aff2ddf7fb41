"""The beta-VAE's decoder from its recorded weights: outputs, Jacobian, column coherence, traversals."""

import numpy as np
import pytest
import torch

from analysis.decoder import column_coherence, decode, jacobian, random_coherence, traversals
from models.vae import BetaVAE


def _weights(model: BetaVAE):
    return [(layer.weight.detach().numpy(), layer.bias.detach().numpy()) for layer in [*model.decoder, model.out]]


def test_the_decoder_and_its_jacobian_from_weights_are_torchs():
    torch.manual_seed(0)
    model = BetaVAE(12, (10, 7), 4)
    z = torch.randn(6, 4)
    weights = _weights(model)
    with torch.no_grad():
        np.testing.assert_allclose(decode(weights, z.numpy()), torch.sigmoid(model.decode(z)).numpy(), atol=1e-6)
    expected = torch.stack([torch.autograd.functional.jacobian(lambda v: torch.sigmoid(model.decode(v[None]))[0], zi)
                            for zi in z])
    np.testing.assert_allclose(jacobian(weights, z.numpy()), expected.numpy(), atol=1e-6)


def test_coherence_is_zero_for_orthogonal_columns_and_one_for_parallel_ones():
    orthogonal = np.eye(5)[None, :, :3]
    assert column_coherence(orthogonal, np.ones(3, bool)) == 0.0
    parallel = np.repeat(np.ones((1, 5, 1)), 3, axis=2)
    assert column_coherence(parallel, np.ones(3, bool)) == pytest.approx(1.0)
    assert np.isnan(column_coherence(orthogonal, np.array([True, False, False])))
    rng = np.random.default_rng(0)
    assert column_coherence(rng.normal(size=(50, 400, 2)), np.ones(2, bool)) == pytest.approx(random_coherence(400),
                                                                                              abs=0.02)


def test_a_traversal_moves_one_latent_and_keeps_the_others():
    torch.manual_seed(1)
    model = BetaVAE(9, (8,), 3)
    code = np.array([0.5, -1.0, 2.0])
    rows = traversals(_weights(model), code, np.array([2, 0]))
    assert rows.shape == (2, 7, 9)
    np.testing.assert_allclose(rows[0, 3], decode(_weights(model), np.array([[0.5, -1.0, 0.0]]))[0])
    assert ((rows >= 0) & (rows <= 1)).all()
