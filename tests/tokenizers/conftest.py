import os

import pytest

from tests.shared_data import require_shared_data

# The data sets live next to the repository: <repo root>/../shared/data.
SHARED_DATA_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "shared", "data")
)


@pytest.fixture(autouse=True)
def _shared_data_dir(monkeypatch):
    """Points the loaders at the shared data directory."""
    if not os.path.isdir(SHARED_DATA_DIR):
        require_shared_data()
    monkeypatch.setenv("KERAS_S2S_DATA_DIR", SHARED_DATA_DIR)
