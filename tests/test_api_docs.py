"""Every public name is documented in docs/api.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import acdcore

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


@pytest.fixture(params=["python"])
def backend(request: pytest.FixtureRequest) -> str:
    """Run once: the test reads a file and builds no distributor."""
    return str(request.param)


def test_every_public_name_is_in_the_api_reference() -> None:
    text = API_DOC.read_text(encoding="utf-8")
    missing = [name for name in acdcore.__all__ if not re.search(rf"`{re.escape(name)}[`(.]", text)]
    assert not missing, f"docs/api.md does not document: {', '.join(missing)}"
