"""Fixtures shared by the training tests (test_training.py, test_runs.py), and the session's
devices: the host CPU split into 4 logical devices before TensorFlow runs its first op, so that
test_distributed.py can train on 2 and 4 replicas on any machine (one-device code still runs on
the first of them)."""

import numpy as np
import pytest

from helpers.distributed import use_cpu_devices

use_cpu_devices(4)


@pytest.fixture(scope="module")
def tiny():
    """240 synthetic 'digits': each class a fixed random blob pattern plus noise."""
    rng = np.random.default_rng(0)
    protos = rng.random((6, 28, 28, 1)) < 0.15
    y = np.repeat(np.arange(6), 40)
    x = np.clip(protos[y] * 0.9 + rng.random((240, 28, 28, 1)) * 0.3, 0, 1).astype(np.float32)
    order = rng.permutation(len(y))
    return x[order], y[order]
