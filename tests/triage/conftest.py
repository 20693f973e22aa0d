"""Fixtures for the triage tests: the shipped catalogues and a fresh engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.catalogues import Catalogues, load_catalogues
from triage.engine import Triage


@pytest.fixture(scope="session")
def catalogues() -> Catalogues:
    from resources import resources_dir

    return load_catalogues(resources_dir() / "catalogues")


@pytest.fixture
def engine(catalogues: Catalogues) -> Triage:
    return Triage(catalogues)


@pytest.fixture
def catalogue_dir(resources: Path) -> Path:
    return resources / "catalogues"
