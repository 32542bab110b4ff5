import os

import keras
import pytest


def pytest_report_header(config):
    return f"keras backend: {keras.backend.backend()} (KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '')})"


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1337)
