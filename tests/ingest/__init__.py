"""Tests of assistant/ingest."""
