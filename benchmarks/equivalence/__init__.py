"""Adapters of ``benchmarks/official_equivalence.py``: one module per model saying how to build
its official release's module from a checkout outside the repository (see that script)."""
