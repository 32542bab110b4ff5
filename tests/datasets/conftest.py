import os

import pytest

# The data sets live next to the repository: <repo root>/../shared/data.
SHARED_DATA_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "shared", "data")
)


@pytest.fixture(autouse=True)
def _shared_data_dir(monkeypatch):
    """Points the loaders at the shared data directory."""
    if not os.path.isdir(SHARED_DATA_DIR):
        pytest.skip(f"Data directory not found: {SHARED_DATA_DIR}")
    monkeypatch.setenv("KERAS_S2S_DATA_DIR", SHARED_DATA_DIR)
