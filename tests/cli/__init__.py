"""Tests of assistant/cli."""
