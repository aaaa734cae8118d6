"""Shared fixtures: every test starts from the same global state (dtype, grad mode, scope, seed).

Hypothesis profiles (``HYPOTHESIS_PROFILE``): ``default`` draws 50 examples per property test,
``thorough`` 1000. Each run picks one seed for every property test and prints it in the pytest
header and under any failing property test; ``HYPOTHESIS_SEED=<n>`` replays that run's examples.
"""
import os
import random
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, seed as hypothesis_seed, settings

import tinygrad_loss as tg
from tinygrad_loss.autograd import STATE

# No example database: a run's examples are fixed by its seed alone (and nothing is written to the tree).
_COMMON = dict(deadline=None, database=None, derandomize=False, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("default", max_examples=50, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _run_seed() -> int:
    """The run's seed: HYPOTHESIS_SEED if set, else a fresh one, stored in the environment so that
    pytest-xdist workers (started later, with this environment) use the same one."""
    if not os.environ.get("HYPOTHESIS_SEED"):
        os.environ["HYPOTHESIS_SEED"] = str(random.SystemRandom().randrange(2 ** 32))
    return int(os.environ["HYPOTHESIS_SEED"])


HYPOTHESIS_RUN_SEED = _run_seed()

# Under mutmut every package call goes through its trampoline (a few extra frames per call), so
# tests that recurse legitimately deep (hostile nested lists) hit Python's default limit there only.
if "MUTANT_UNDER_TEST" in os.environ or "MUTMUT_DEPENDENCY_DEPTH" in os.environ:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
_COLLECTED = {"property tests": False}


def pytest_report_header(config):
    return (f"hypothesis: profile {settings.get_current_profile_name()!r}, seed {HYPOTHESIS_RUN_SEED} "
            f"(replay with HYPOTHESIS_SEED={HYPOTHESIS_RUN_SEED})")


def _is_property_test(item) -> bool:
    return getattr(getattr(item, "obj", None), "is_hypothesis_test", False)


def pytest_collection_modifyitems(config, items):
    # hypothesis.seed() on each property test, unless --hypothesis-seed or an @seed on the test decides
    _COLLECTED["property tests"] = any(_is_property_test(item) for item in items)
    if config.getoption("hypothesis_seed", None) is not None:
        return
    for item in filter(_is_property_test, items):
        fn = item.obj
        if getattr(fn, "_hypothesis_internal_use_seed", None) is not None:
            continue
        own = getattr(fn, "_hypothesis_internal_use_settings", None)
        if own is not None and own.derandomize:  # a test that asked for fixed examples keeps them
            continue
        hypothesis_seed(HYPOTHESIS_RUN_SEED)(fn)


def _replay_hint() -> str:
    return f"HYPOTHESIS_SEED={HYPOTHESIS_RUN_SEED} HYPOTHESIS_PROFILE={settings.get_current_profile_name()}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _is_property_test(item):
        report.sections.append(("hypothesis seed", f"replay: {_replay_hint()} python -m pytest {item.nodeid}"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _COLLECTED["property tests"]:  # shown in -q runs too, unlike the header
        terminalreporter.write_line(f"hypothesis examples drawn with {_replay_hint()}")


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

