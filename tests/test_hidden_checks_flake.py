"""The statistical parts of the hidden tests, run on correct code over 1000 seeds.

Each keep-rate check fails correct code with probability below 1e-11 (Hoeffding); with at
most 12 such checks per seed, the union bound puts this test's false-failure rate below
1000 * 12 * 1e-11 = 1.2e-7. A failure here means a check is wrong, not unlucky.
"""
import numpy as np

import dropout_reference as ref
from dropout_checks import numpy_checks as checks

FORWARDS = [(ref.vanilla_dropout_forward, "vanilla"), (ref.inverted_dropout_forward, "inverted"),
            (ref.spatial_dropout_forward, "spatial"), (ref.locked_dropout_forward, "locked")]


def test_hidden_statistical_checks_never_fail_correct_code_over_1000_seeds():
    failures = []
    for seed in range(1000):
        rng = np.random.default_rng(seed)
        try:
            for fn, kind in FORWARDS:
                checks.check_training_forward(fn, kind, 0.25 if seed % 2 else 0.7, rng)
            checks.check_dropconnect_forward(ref.dropconnect_forward, seed=seed)
            if seed % 10 == 0:  # the layer check is slower; every tenth seed still gives 100 runs
                checks.check_layer(ref.Dropout, seed=seed)
        except AssertionError as err:
            failures.append(f"seed {seed}: {err}")
    assert not failures, "\n".join(failures[:10])
