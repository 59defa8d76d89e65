"""System-level tests: faults, security, load, injection, the offline guard, a real browser, the wheel."""
