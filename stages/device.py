"""Resolve the `device` param (auto, cpu, cuda) to the device the models actually train on."""

from __future__ import annotations

import logging

import torch

from stages.errors import StageError

log = logging.getLogger(__name__)


def resolve_device(requested: str) -> str:
    """`auto` picks CUDA when a GPU is visible and falls back to the CPU with a warning."""
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise StageError("device: 'cuda' was requested but no CUDA GPU is visible (use 'auto' or 'cpu')")
    if requested == "auto":
        if not available:
            log.warning("device: auto found no CUDA GPU; training on the CPU")
        return "cuda" if available else "cpu"
    return requested
