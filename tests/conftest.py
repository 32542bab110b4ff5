import os

import keras
import pytest

from tests.shared_data import require_shared_data

if keras.backend.backend() == "torch":
    import torch

    # The models under test are small: PyTorch's intra-op thread pool costs
    # far more than it gains on them (tiny matmuls run ~20x slower with two
    # spinning OpenMP threads on a two-core machine).
    torch.set_num_threads(1)


def pytest_runtest_setup(item):
    # `@pytest.mark.needs_data`: the shared data sets must be there (see
    # tests/shared_data.py); without them the test fails, or is skipped when
    # KERAS_S2S_SKIP_DATA_TESTS=1.
    if item.get_closest_marker("needs_data") is not None:
        require_shared_data()


def pytest_report_header(config):
    return (
        f"keras backend: {keras.backend.backend()} "
        f"(KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '')})"
    )


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1337)
