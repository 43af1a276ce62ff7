"""Monte Carlo dropout: mode handling, reproducibility, and metrics vs hand-computed values."""
import math

import pytest
import torch
from torch import nn

import dropout_reference as ref


def model_with_batchnorm():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(16, 8), nn.Dropout1d(0.2), nn.Linear(8, 3))


def test_only_dropout_modules_train_and_batchnorm_statistics_stay_put():
    model = model_with_batchnorm().eval()
    bn = model[1]
    before = (bn.running_mean.clone(), bn.running_var.clone(), int(bn.num_batches_tracked))
    x = torch.randn(32, 4)
    with ref.enable_mc_dropout(model):
        modes = {type(m).__name__: m.training for m in model.modules()}
        first, second = model(x), model(x)
    assert modes["Dropout"] and modes["Dropout1d"]
    assert not modes["BatchNorm1d"] and not modes["Linear"] and not modes["Sequential"]
    assert not torch.equal(first, second), "repeated predictions should differ under MC dropout"
    assert torch.equal(bn.running_mean, before[0]) and torch.equal(bn.running_var, before[1])
    assert int(bn.num_batches_tracked) == before[2]


def test_every_module_mode_is_restored_even_when_the_body_raises():
    model = model_with_batchnorm().train()
    model[4].eval()  # a mixed state must come back exactly
    saved = [m.training for m in model.modules()]
    with pytest.raises(RuntimeError, match="boom"):
        with ref.enable_mc_dropout(model):
            raise RuntimeError("boom")
    assert [m.training for m in model.modules()] == saved


def test_mc_predict_shape_probabilities_and_reproducibility():
    model = model_with_batchnorm().eval()
    x = torch.randn(10, 4)
    state = torch.random.get_rng_state()
    a = ref.mc_dropout_predict(model, x, T=20, generator=torch.Generator().manual_seed(1))
    b = ref.mc_dropout_predict(model, x, T=20, generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.random.get_rng_state(), state), "the global RNG was touched"
    assert a.shape == (20, 10, 3)
    torch.testing.assert_close(a.sum(-1), torch.ones(20, 10))
    assert torch.equal(a, b)
    assert a.std(dim=0).mean() > 0
    assert not model.training and not model[3].training
    with pytest.raises(ValueError, match="positive int"):
        ref.mc_dropout_predict(model, x, T=0)


def test_entropy_of_uniform_predictions_is_log_k():
    probs = torch.full((5, 7, 4), 0.25, dtype=torch.float64)
    torch.testing.assert_close(ref.predictive_entropy(probs), torch.full((7,), math.log(4), dtype=torch.float64))


def test_identical_samples_have_zero_mutual_information():
    one = torch.softmax(torch.randn(6, 5, generator=torch.Generator().manual_seed(0)), dim=-1)
    probs = one.expand(9, 6, 5)
    torch.testing.assert_close(ref.mutual_information(probs), torch.zeros(6), atol=1e-6, rtol=0)


def test_disagreeing_confident_samples_are_all_epistemic():
    # Half the samples say class 0 with certainty, half class 1: entropy log 2, all of it mutual information.
    probs = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]]).repeat(2, 1, 1)
    torch.testing.assert_close(ref.predictive_entropy(probs), torch.tensor([math.log(2)]))
    torch.testing.assert_close(ref.mutual_information(probs), torch.tensor([math.log(2)]))


def test_perfectly_calibrated_toy_has_zero_ece():
    # Four predictions at confidence 0.75, three of them right: accuracy equals confidence.
    probs = torch.tensor([[0.75, 0.25]] * 4)
    labels = torch.tensor([0, 0, 0, 1])
    assert ref.expected_calibration_error(probs, labels).item() == pytest.approx(0.0, abs=1e-7)


def test_ece_against_a_hand_written_loop():
    gen = torch.Generator().manual_seed(3)
    probs = torch.softmax(3 * torch.randn(500, 4, generator=gen), dim=-1).double()
    labels = torch.randint(0, 4, (500,), generator=gen)
    conf, pred = probs.max(-1)
    hand = 0.0
    for i in range(10):
        lo, hi = i / 10, (i + 1) / 10
        members = [j for j in range(500) if lo < conf[j] <= hi]
        if members:
            acc = sum(float(pred[j] == labels[j]) for j in members) / len(members)
            avg = sum(float(conf[j]) for j in members) / len(members)
            hand += len(members) / 500 * abs(acc - avg)
    assert ref.expected_calibration_error(probs, labels, n_bins=10).item() == pytest.approx(hand, abs=1e-12)


def test_nll_against_hand_values_and_zero_probabilities():
    probs = torch.tensor([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])
    labels = torch.tensor([0, 1, 0])
    expected = -(math.log(0.5) + math.log(0.1) + math.log(1.0)) / 3
    assert ref.negative_log_likelihood(probs, labels).item() == pytest.approx(expected, rel=1e-6)
    assert torch.isfinite(ref.negative_log_likelihood(probs, torch.tensor([1, 0, 1])))


def test_metric_inputs_are_validated():
    with pytest.raises(ValueError, match=r"\(T, N, K\)"):
        ref.predictive_entropy(torch.ones(3, 4))
    with pytest.raises(ValueError, match=r"labels of shape \(2,\)"):
        ref.expected_calibration_error(torch.ones(2, 3) / 3, torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer"):
        ref.negative_log_likelihood(torch.ones(2, 3) / 3, torch.tensor([0.0, 1.0]))


def test_dropout_mlp_rates_and_modes():
    model = ref.DropoutMLP(10, (32, 16), 4, p_drop_input=0.2, p_drop_hidden=0.5)
    rates = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert rates == [0.2, 0.5, 0.5]
    x = torch.randn(8, 10)
    model.eval()
    assert torch.equal(model(x), model(x))
    assert [a.shape[1] for a in model.hidden_activations(x)] == [32, 16]
    model.set_dropout(0.1)
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.2, 0.1, 0.1]
