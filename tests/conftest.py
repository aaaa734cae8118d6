"""Shared fixtures: every test starts from the same global state (dtype, grad mode, scope, seed)."""
import numpy as np
import pytest

import tinygrad_loss as tg
from tinygrad_loss.autograd import STATE


@pytest.fixture(autouse=True)
def _fresh_global_state():
    tg.set_default_dtype(np.float32)
    tg.manual_seed(0)
    STATE.grad_enabled, STATE.scope = True, ""
    yield
    tg.set_default_dtype(np.float32)
    STATE.grad_enabled, STATE.scope = True, ""


@pytest.fixture
def rng() -> np.random.Generator:
    """A NumPy generator with a fixed seed, for test data (independent of the library's generator)."""
    return np.random.default_rng(1234)
