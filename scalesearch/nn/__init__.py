"""Spec -> torch.nn.Module."""

from scalesearch.nn.build import Net, build

__all__ = ["Net", "build"]
