"""Tests of assistant/ui."""
