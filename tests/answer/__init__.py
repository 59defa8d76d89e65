"""Tests of assistant/answer."""
