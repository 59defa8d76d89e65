"""Generative backends behind one interface, registered by name."""
