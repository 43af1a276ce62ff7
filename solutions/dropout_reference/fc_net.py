"""The capstone's network: affine - ReLU - inverted dropout - affine - softmax loss, in NumPy.

``params`` is a dict of float arrays ``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, K)``, ``b2 (K,)``.
Dropout acts on the hidden layer only (never on the output scores), through the element-wise
inverted dropout of :mod:`.functional`, so evaluation (``train=False``) is the plain network.
"""
from __future__ import annotations

import numpy as np

from .functional import dropout_backward, inverted_dropout_forward

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def softmax_loss(scores, y):
    """Mean cross-entropy of ``scores (N, K)`` against labels ``y (N,)`` and its gradient ``dscores``."""
    shifted = scores - scores.max(axis=1, keepdims=True)  # exp of a large score would overflow
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    return float(loss), dscores / n


def fc_net_loss(params, X, y, p_drop, train, rng=None):
    """``(loss, grads)`` of the network on ``X (N, D)``, ``y (N,)``; ``grads`` has the keys of ``params``."""
    z1 = X @ params["W1"] + params["b1"]
    h = np.maximum(z1, 0.0)
    hd, cache = inverted_dropout_forward(h, p_drop, train, rng)
    scores = hd @ params["W2"] + params["b2"]
    loss, dscores = softmax_loss(scores, y)
    dhd = dscores @ params["W2"].T
    dz1 = dropout_backward(dhd, cache) * (z1 > 0)
    grads = {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": hd.T @ dscores, "b2": dscores.sum(axis=0)}
    return loss, grads


def train_fc_net(loss_fn, params, X, y, X_val, y_val, p_drop, lr, epochs, batch_size, rng):
    """Plain SGD on shuffled mini-batches with dropout on; ``(params, history)``.

    ``history["loss"]`` holds each epoch's mean mini-batch loss (training mode) and
    ``history["val_loss"]`` the loss on ``X_val`` after each epoch, in evaluation mode.
    """
    params = {name: value.copy() for name, value in params.items()}
    history = {"loss": [], "val_loss": []}
    for _ in range(epochs):
        order = rng.permutation(len(X))
        losses = []
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[batch], y[batch], p_drop, True, rng)
            for name in params:
                params[name] -= lr * grads[name]
            losses.append(loss)
        history["loss"].append(float(np.mean(losses)))
        history["val_loss"].append(float(loss_fn(params, X_val, y_val, p_drop, False, rng)[0]))
    return params, history
