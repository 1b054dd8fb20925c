"""Demo firm: a deterministic generator with an answer key, and writing it to disk."""

from __future__ import annotations

from .firm.build import Firm, generate_firm
from .write import write_demo

__all__ = ["Firm", "generate_firm", "write_demo"]
