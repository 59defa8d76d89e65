"""Tests of assistant/llms."""
