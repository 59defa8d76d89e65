"""Paper Assistant test suite."""
