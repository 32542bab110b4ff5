"""Where the tests find the shared data sets, and what happens without them.

The data sets (Multi30k, E2E, CMUdict, sentence compression) live next to
the repository, in `<repo root>/../shared/data`; CI has them. A test that
needs them calls `require_shared_data()` (or is marked
`@pytest.mark.needs_data`): without the directory it fails with a message
saying what is missing, so a run without the data cannot pass silently.
Set `KERAS_S2S_SKIP_DATA_TESTS=1` to skip those tests on purpose.
"""

import os

import pytest

SHARED_DATA_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data")
)
SKIP_DATA_TESTS_VARIABLE = "KERAS_S2S_SKIP_DATA_TESTS"


def require_shared_data():
    """Returns the shared data directory; fails (or skips on request) without it."""
    if os.path.isdir(SHARED_DATA_DIR):
        return SHARED_DATA_DIR
    message = (
        f"The shared data sets are missing: no directory {SHARED_DATA_DIR}. "
        "This test reads real data from there (see the data sets' READMEs). "
        f"Set {SKIP_DATA_TESTS_VARIABLE}=1 to skip the tests that need it."
    )
    if os.environ.get(SKIP_DATA_TESTS_VARIABLE) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)
