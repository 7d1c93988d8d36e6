"""Layer 0, the core: what a network is (spec, specio, baselines), how it scales (scaling, strategies, grid),
the size guards (limits), what a search stores and how it ranks (runs, record, ranking, evidence), and the
small helpers every layer uses (errors, units, jsonio, redaction, kvstore).

Standard library and pyyaml only: no torch, no fvcore, no Optuna (tests/test_layers.py enforces it), so
``import scalesearch.core.spec`` works in an environment without them.
"""
