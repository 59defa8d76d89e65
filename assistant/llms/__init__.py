"""Generative backends behind one interface (`base.Backend.generate`), one module per backend family, registered
by name (`registry`, `builtin.default_registry`) and built once per process (`registry.BackendPool`).

Backends turn a request into text; they do no retrieval, prompting or citation work.
"""
