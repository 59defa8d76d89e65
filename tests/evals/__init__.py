"""Tests of assistant/evals."""
