"""Every backward vs torch autograd, and vs a central-difference gradient with the mask frozen."""
import numpy as np
import pytest
import torch

import dropout_reference as ref

ELEMENTWISE = {
    "vanilla": (ref.vanilla_dropout_forward, (6, 7)),
    "inverted": (ref.inverted_dropout_forward, (6, 7)),
    "spatial": (ref.spatial_dropout_forward, (3, 4, 5, 5)),
    "locked": (ref.locked_dropout_forward, (4, 3, 5)),
}


def numerical_gradient(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("train", [True, False])
def test_backward_matches_autograd_and_numerical_gradient(name, train):
    forward, shape = ELEMENTWISE[name]
    data = np.random.default_rng(7)
    x = data.standard_normal(shape)
    upstream = data.standard_normal(shape)
    seed = 11
    # A fresh generator with the same seed redraws the same mask: the mask is frozen.
    frozen = lambda z: forward(z, 0.4, train, np.random.default_rng(seed))
    out, cache = frozen(x)
    ours = ref.dropout_backward(upstream, cache)

    numeric = numerical_gradient(lambda z: float(np.sum(upstream * frozen(z)[0])), x.copy())
    np.testing.assert_allclose(ours, numeric, atol=1e-7, err_msg=f"{name}: backward != numerical gradient")

    xt = torch.tensor(x, requires_grad=True)
    mask = torch.ones(()) if cache["mask"] is None else torch.from_numpy(cache["mask"]).double()
    (xt * mask * cache["scale"] * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(ours, xt.grad.numpy(), rtol=1e-12, err_msg=f"{name}: backward != autograd")


@pytest.mark.parametrize("train", [True, False])
def test_dropconnect_backward_matches_autograd_and_numerical_gradient(train):
    data = np.random.default_rng(3)
    x, W, b = data.standard_normal((5, 4)), data.standard_normal((4, 3)), data.standard_normal(3)
    upstream = data.standard_normal((5, 3))
    frozen = lambda x_, W_, b_: ref.dropconnect_forward(x_, W_, b_, 0.5, train, np.random.default_rng(5))
    out, cache = frozen(x, W, b)
    dx, dW, db = ref.dropconnect_backward(upstream, cache)

    loss = lambda x_, W_, b_: float(np.sum(upstream * frozen(x_, W_, b_)[0]))
    np.testing.assert_allclose(dx, numerical_gradient(lambda z: loss(z, W, b), x.copy()), atol=1e-7)
    np.testing.assert_allclose(dW, numerical_gradient(lambda z: loss(x, z, b), W.copy()), atol=1e-7)
    np.testing.assert_allclose(db, numerical_gradient(lambda z: loss(x, W, z), b.copy()), atol=1e-7)

    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    mask = torch.ones(()) if cache["mask"] is None else torch.from_numpy(cache["mask"]).double()
    out_t = xt @ (Wt * mask * cache["scale"]) + bt
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12)
    (out_t * torch.from_numpy(upstream)).sum().backward()
    for ours, theirs, name in ((dx, xt.grad, "dx"), (dW, Wt.grad, "dW"), (db, bt.grad, "db")):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, err_msg=f"{name} != autograd")


def test_dropconnect_drops_weights_not_units(rng):
    x = np.ones((1, 200))
    W = np.ones((200, 300))
    out, cache = ref.dropconnect_forward(x, W, np.zeros(300), 0.5, True, rng)
    # With whole units dropped every output would see the same inputs; here each column differs.
    assert len(np.unique(out)) > 10
    np.testing.assert_allclose(out[0], 2.0 * cache["mask"].sum(axis=0))
    eval_out, _ = ref.dropconnect_forward(x, W, np.zeros(300), 0.5, False, rng)
    np.testing.assert_array_equal(eval_out, x @ W)


@pytest.mark.parametrize("shape", [(8, 20), (2, 3, 4, 4)])
def test_layer_backward_uses_the_forward_mask(shape, rng):
    layer = ref.Dropout(0.3, rng=rng)
    x = rng.standard_normal(shape)
    out = layer(x)
    dout = rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    scaled_mask = torch.from_numpy(np.where(out != 0, 1 / 0.7, 0.0))
    (xt * scaled_mask * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=1e-12)
