"""The guides' Python examples run, and print what the text says they print."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _blocks(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), re.S)


@pytest.mark.parametrize("index", range(len(_blocks("adapters.md"))))
def test_the_adapter_guide_examples_run(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_blocks("adapters.md")[index], f"adapters.md[{index}]", "exec"), {})
    # every "# <what it prints>" comment on a print line is what it printed
    for line in _blocks("adapters.md")[index].splitlines():
        m = re.match(r"print\(.*\)\s+#\s+(.+)$", line.strip())
        if m:
            assert m.group(1) in out.getvalue()
