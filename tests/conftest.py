from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden"
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"
# Examples whose defaults need the network (ImageNet weights): the tests that build every
# example build these with these overrides (random weights) instead.
EXAMPLE_OFFLINE: dict[str, dict[str, object]] = {"transfer": {"weights": None}}

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# No test may reach the network (CI has none beyond package registries): a download is refused
# before it starts, for this process and every `kspec` subprocess a test starts.
os.environ.setdefault("KSPEC_OFFLINE", "1")

settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None)
settings.register_profile("fuzz", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def python_exe() -> str:
    return sys.executable
