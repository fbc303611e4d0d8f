"""Configuration of the unit tests.

* Hypothesis: the ``ci`` profile (loaded by default) is derandomized, so a run of the
  suite is deterministic; ``pytest --hypothesis-profile=random --hypothesis-seed=N``
  draws fresh examples, which shows that tolerances, not a lucky seed, make the
  property tests pass.
* Dtype: tests run in float32, the dtype readers and students use.  A test that
  needs float64 (identities to 1e-8 and beyond) asks for the ``x64`` fixture, or
  uses ``with jax.enable_x64(True):`` around the part that needs it.  No test module
  switches float64 on globally.
* JAX's persistent compilation cache lives in ``_build/jax-cache`` (set by the
  Makefile through ``JAX_COMPILATION_CACHE_DIR``; set here too for a bare ``pytest``).
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "random",
    derandomize=False,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("OPTLAB_HYPOTHESIS_PROFILE", "ci"))

if not jax.config.jax_compilation_cache_dir:
    jax.config.update("jax_compilation_cache_dir", str(ROOT / "_build" / "jax-cache"))
# JAX writes entries into the directory but a fresh checkout does not have it yet.
Path(jax.config.jax_compilation_cache_dir).mkdir(parents=True, exist_ok=True)



@pytest.fixture
def x64():
    """Run the test with float64 enabled (and restore the readers' float32 after)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture(autouse=True)
def _float32_is_the_default():
    yield
    assert not jax.config.jax_enable_x64, "a test left jax_enable_x64 switched on"
