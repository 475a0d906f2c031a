"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The real chest CT beside the project (TCIA Lung-PET-CT-Dx, CC BY 4.0); never copied in.
LUNG_PET_CT_DX = REPO_ROOT.parent / "shared" / "data" / "lung-pet-ct-dx"


@pytest.fixture
def lung_pet_ct_dx() -> Path:
    """The real-data folder; the test is skipped when it is absent."""
    if not LUNG_PET_CT_DX.is_dir():
        pytest.skip(f"real data not found at {LUNG_PET_CT_DX}")
    return LUNG_PET_CT_DX
