"""Data shipped with Sandgate: catalogues, the default policy, icons.

The package holds no code beyond this locator; callers resolve the folder in `main()`
and pass it down, so nothing reads a path at import time.
"""

from pathlib import Path


def resources_dir() -> Path:
    """The folder holding Sandgate's shipped data files."""
    return Path(__file__).resolve().parent
