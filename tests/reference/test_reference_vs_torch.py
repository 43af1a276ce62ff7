"""Ours vs PyTorch: same keep rate, scale and mask structure in training; equal in evaluation."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dropout_reference as ref
from dropout_reference import keep_rate_is

P_DROPS = [0.1, 0.5, 0.8]


def torch_keep_mask(x: np.ndarray, p_drop: float, seed: int):
    g = torch.Generator().manual_seed(seed)
    t = torch.from_numpy(x)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=g)))
        out = F.dropout(t, p=p_drop, training=True)
    return out.numpy()


@pytest.mark.parametrize("p_drop", P_DROPS)
def test_inverted_matches_torch_keep_rate_and_scale(p_drop, rng):
    x = rng.uniform(1.0, 2.0, size=(1000, 500))  # no zeros, so a zero output means "dropped"
    ours, cache = ref.inverted_dropout_forward(x, p_drop, True, rng)
    theirs = torch_keep_mask(x, p_drop, seed=1)
    for name, out in (("ours", ours), ("torch", theirs)):
        ok, why = keep_rate_is(out != 0, 1 - p_drop)
        assert ok, f"{name}: {why}"
        kept = out != 0
        np.testing.assert_allclose(out[kept] / x[kept], 1 / (1 - p_drop), rtol=1e-12,
                                   err_msg=f"{name}: survivors are not scaled by 1/(1-p_drop)")
    np.testing.assert_array_equal(ours, x * cache["mask"] * cache["scale"])


@pytest.mark.parametrize("p_drop", P_DROPS)
def test_vanilla_keeps_at_the_same_rate_without_scaling(p_drop, rng):
    x = rng.uniform(1.0, 2.0, size=(500, 400))
    out, cache = ref.vanilla_dropout_forward(x, p_drop, True, rng)
    ok, why = keep_rate_is(out != 0, 1 - p_drop)
    assert ok, why
    np.testing.assert_array_equal(out[out != 0], x[out != 0])
    assert cache["scale"] == 1.0


@pytest.mark.parametrize("p_drop", [0.0, 0.3, 1.0])
def test_evaluation_mode_equals_torch_exactly(p_drop, rng):
    x = rng.standard_normal((7, 3, 5)).astype(np.float32)
    t = torch.from_numpy(x)
    inverted, _ = ref.inverted_dropout_forward(x, p_drop, False, rng)
    np.testing.assert_array_equal(inverted, F.dropout(t, p=p_drop, training=False).numpy())
    vanilla, _ = ref.vanilla_dropout_forward(x, p_drop, False, rng)
    np.testing.assert_array_equal(vanilla, (t * (1 - p_drop)).numpy())
    layer = ref.Dropout(p_drop).eval()
    np.testing.assert_array_equal(layer(x), torch.nn.Dropout(p_drop).eval()(t).numpy())


@pytest.mark.parametrize("spatial_dims,torch_cls", [(1, torch.nn.Dropout1d), (2, torch.nn.Dropout2d),
                                                    (3, torch.nn.Dropout3d)])
def test_spatial_matches_torch_channel_dropout(spatial_dims, torch_cls, rng):
    p_drop = 0.4
    shape = (200, 60) + (4,) * spatial_dims
    x = rng.uniform(1.0, 2.0, size=shape)
    ours, cache = ref.spatial_dropout_forward(x, p_drop, True, rng)
    torch.manual_seed(0)
    theirs = torch_cls(p_drop).train()(torch.from_numpy(x)).numpy()
    reduce = tuple(range(2, x.ndim))
    for name, out in (("ours", ours), ("torch", theirs)):
        kept = out != 0
        # Mask structure: every (sample, channel) is wholly kept or wholly dropped.
        assert np.all(kept.all(axis=reduce) | (~kept).all(axis=reduce)), f"{name}: a channel was partly dropped"
        ok, why = keep_rate_is(kept.all(axis=reduce), 1 - p_drop)
        assert ok, f"{name}: {why}"
        np.testing.assert_allclose(out[kept] / x[kept], 1 / (1 - p_drop), rtol=1e-12)
    assert cache["mask"].shape == shape[:2] + (1,) * spatial_dims


def test_locked_mask_is_the_same_at_every_time_step(rng):
    x = rng.uniform(1.0, 2.0, size=(30, 64, 50))
    out, cache = ref.locked_dropout_forward(x, 0.3, True, rng)
    kept = out != 0
    assert np.all(kept == kept[0]), "the mask changed between time steps"
    ok, why = keep_rate_is(kept[0], 0.7)
    assert ok, why
    assert cache["mask"].shape == (1, 64, 50)


@pytest.mark.parametrize("shape", [(64, 100), (16, 3, 8, 8), (5,), (2, 3, 4, 5, 6)])
def test_layer_any_rank_matches_torch_in_distribution(shape, rng):
    x = rng.uniform(1.0, 2.0, size=shape)
    layer = ref.Dropout(0.5, rng=rng)
    out = layer(x)
    assert out.shape == x.shape
    kept = out != 0
    np.testing.assert_allclose(out[kept], 2 * x[kept])
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx, 2.0 * kept)


def test_float32_stays_float32(rng):
    x = rng.standard_normal((10, 10)).astype(np.float32)
    for forward in (ref.vanilla_dropout_forward, ref.inverted_dropout_forward):
        out, cache = forward(x, 0.5, True, rng)
        assert out.dtype == np.float32
        assert ref.dropout_backward(np.ones_like(x), cache).dtype == np.float32
