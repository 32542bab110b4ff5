"""ServingLimits: defaults, validation, names."""

import pytest

from keras_s2s.serving.serving_limits import ServingLimits
from tests.test_case import TestCase


class ServingLimitsTest(TestCase):
    def test_defaults_bound_what_the_issue_names(self):
        limits = ServingLimits()
        self.assertEqual(limits.max_request_bytes, 1 << 20)  # A 2 MB body: 413.
        self.assertEqual(limits.max_input_chars, 2000)
        self.assertLess(limits.header_timeout_s, 60)
        self.assertIn("drain_timeout_s", ServingLimits.names())
        self.assertEqual(len(ServingLimits.names()), 14)

    def test_invalid_values(self):
        for name, value in [("max_request_bytes", 0), ("max_inputs_per_request", 1.5),
                            ("header_timeout_s", 0), ("idle_timeout_s", -1),
                            ("drain_timeout_s", float("inf")), ("retry_after_s", True)]:
            with self.subTest(name=name):
                with pytest.raises(ValueError, match=name):
                    ServingLimits(**{name: value})
        with pytest.raises(TypeError, match="max_banana"):
            ServingLimits(max_banana=1)
