"""Tests that need the shared data fail without it, unless skipped on purpose."""

import pytest

from tests import shared_data


def test_missing_data_fails_with_a_message(monkeypatch, tmp_path):
    monkeypatch.setattr(shared_data, "SHARED_DATA_DIR", str(tmp_path / "absent"))
    monkeypatch.delenv(shared_data.SKIP_DATA_TESTS_VARIABLE, raising=False)
    with pytest.raises(pytest.fail.Exception, match="shared data sets are missing"):
        shared_data.require_shared_data()


def test_missing_data_skips_when_asked(monkeypatch, tmp_path):
    monkeypatch.setattr(shared_data, "SHARED_DATA_DIR", str(tmp_path / "absent"))
    monkeypatch.setenv(shared_data.SKIP_DATA_TESTS_VARIABLE, "1")
    with pytest.raises(pytest.skip.Exception, match="KERAS_S2S_SKIP_DATA_TESTS=1"):
        shared_data.require_shared_data()


def test_present_data_is_returned():
    assert shared_data.require_shared_data() == shared_data.SHARED_DATA_DIR
