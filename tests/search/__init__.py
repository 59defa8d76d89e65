"""Tests of assistant/search."""
