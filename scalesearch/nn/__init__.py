"""Spec -> torch.nn.Module; a user's builder (``file.py:function``) as a baseline (scalesearch.nn.builder)."""

from scalesearch.nn.build import Net, build
from scalesearch.nn.builder import builder_baseline, module_facts, resolve_baseline, scale_network

__all__ = ["Net", "build", "builder_baseline", "module_facts", "resolve_baseline", "scale_network"]
