"""Where the project's checkout and the shared real data sets live (train/ never imports app/)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"  # KazQAD, FLORES-200, ... (see its README.md)
