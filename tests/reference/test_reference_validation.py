"""The spec's error contract, identical for every function (one validation helper serves all)."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import dropout_reference as ref

FORWARDS = [ref.vanilla_dropout_forward, ref.inverted_dropout_forward,
            ref.spatial_dropout_forward, ref.locked_dropout_forward]
X = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4) - 5.0
bad_p = st.one_of(st.floats(max_value=-1e-12, allow_nan=False), st.floats(min_value=1 + 1e-12), st.just(math.nan))


@pytest.mark.parametrize("forward", FORWARDS, ids=lambda f: f.__name__)
@given(p=bad_p)
@settings(max_examples=25, deadline=None)
def test_p_drop_outside_unit_interval_names_the_convention(forward, p):
    with pytest.raises(ValueError, match=r"probability of DROPPING.*p_drop=") as err:
        forward(X, p, True, np.random.default_rng(0))
    assert repr(float(p)) in str(err.value)


def test_dropconnect_and_layer_validate_the_same_way():
    with pytest.raises(ValueError, match="DROPPING"):
        ref.dropconnect_forward(np.ones((2, 3)), np.ones((3, 4)), np.ones(4), -0.1, True, np.random.default_rng(0))
    with pytest.raises(ValueError, match="DROPPING"):
        ref.Dropout(1.5)
    with pytest.raises(ValueError, match="DROPPING"):
        ref.DropoutMLP(4, (8,), 3, p_drop_hidden=float("nan"))


@pytest.mark.parametrize("forward", FORWARDS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.complex128])
def test_non_floating_x_is_a_type_error(forward, dtype):
    with pytest.raises(TypeError, match="floating"):
        forward(X.astype(dtype), 0.5, True, np.random.default_rng(0))


@pytest.mark.parametrize("forward", FORWARDS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("train", [True, False])
def test_p_drop_zero_is_the_identity(forward, train):
    out, cache = forward(X, 0.0, train, np.random.default_rng(0))
    np.testing.assert_array_equal(out, X)
    assert cache["mask"] is None and cache["scale"] == 1.0


@pytest.mark.parametrize("forward", FORWARDS, ids=lambda f: f.__name__)
def test_p_drop_one_gives_zeros_without_warning_or_nan(forward):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out, cache = forward(X, 1.0, True, np.random.default_rng(0))
            dx = ref.dropout_backward(np.ones_like(X), cache)
    assert np.all(out == 0) and np.all(dx == 0)
    assert np.isfinite(cache["scale"])


def test_inputs_are_never_modified(rng):
    x = rng.standard_normal((5, 6))
    before = x.copy()
    for forward in (ref.vanilla_dropout_forward, ref.inverted_dropout_forward):
        out, cache = forward(x, 0.5, True, rng)
        ref.dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(x, before)


def test_training_without_rng_says_what_to_pass():
    with pytest.raises(TypeError, match="default_rng"):
        ref.inverted_dropout_forward(X, 0.5, True, None)
    out, _ = ref.inverted_dropout_forward(X, 0.5, False, None)  # evaluation needs no randomness
    np.testing.assert_array_equal(out, X)


@pytest.mark.parametrize("shape", [(4,), (4, 5), (1, 2, 3, 4, 5, 6)])
def test_spatial_rejects_shapes_without_channels_and_1_to_3_spatial_dims(shape):
    with pytest.raises(ValueError, match=r"shape \("):
        ref.spatial_dropout_forward(np.ones(shape), 0.5, True, np.random.default_rng(0))


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 5)])
def test_locked_needs_time_batch_features(shape):
    with pytest.raises(ValueError, match=r"\(T, N, D\)"):
        ref.locked_dropout_forward(np.ones(shape), 0.5, True, np.random.default_rng(0))


def test_mismatched_shapes_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 4\)"):
        ref.dropconnect_forward(np.ones((2, 3)), np.ones((4, 4)), np.ones(4), 0.5, True, np.random.default_rng(0))
    _, cache = ref.inverted_dropout_forward(np.ones((2, 3)), 0.5, True, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        ref.dropout_backward(np.ones((3, 2)), cache)


def test_converter_round_trips_and_validates():
    assert ref.keep_to_drop(0.8) == pytest.approx(0.2)
    assert ref.drop_to_keep(ref.keep_to_drop(0.3)) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="KEEPING"):
        ref.keep_to_drop(1.2)


def test_layer_repr_and_modes():
    layer = ref.Dropout(0.25, rng=0)
    assert repr(layer) == "Dropout(p_drop=0.25, training=True)"
    assert layer.eval().training is False and "training=False" in repr(layer)
    with pytest.raises(RuntimeError, match="forward before backward"):
        ref.Dropout(0.5).backward(np.ones(3))
