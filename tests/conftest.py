import os

import keras
import pytest

if keras.backend.backend() == "torch":
    import torch

    # The models under test are small: PyTorch's intra-op thread pool costs
    # far more than it gains on them (tiny matmuls run ~20x slower with two
    # spinning OpenMP threads on a two-core machine).
    torch.set_num_threads(1)


def pytest_report_header(config):
    return (
        f"keras backend: {keras.backend.backend()} "
        f"(KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '')})"
    )


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1337)
