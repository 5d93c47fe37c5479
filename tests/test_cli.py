"""The acdcore command line."""

from __future__ import annotations

import json

import pytest

from acdcore.cli import main, parse_duration, parse_target


def test_staffing_reproduces_erlang_c_and_the_80_20_minimum(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(
            ["staffing", "--calls", "100", "--interval", "30m", "--aht", "180", "--target", "80/20"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "14   0.17413  0.88835" in out
    assert "<- required" in out.splitlines()[4]
    assert "required: 14 agents" in out


def test_staffing_with_patience_uses_erlang_a_and_shrinkage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["staffing", "--calls", "100", "--interval", "30m", "--aht", "3m", "--patience", "300"]
    assert main([*args, "--shrinkage", "30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    row = next(r for r in data["table"] if r["agents"] == 13)
    assert round(row["p_wait"], 4) == 0.2258
    assert round(row["p_abandon"], 5) == 0.02496
    assert round(row["asa"] / 60, 4) == 0.1248
    assert round(row["occupancy"], 3) == 0.750
    assert data["required"] == 13 and data["scheduled"] == 19


@pytest.mark.parametrize(
    "argv",
    [
        ["staffing", "--calls", "100", "--aht", "180", "--target", "180/20"],
        ["staffing", "--calls", "100", "--aht", "soon"],
        ["staffing", "--calls", "-5", "--aht", "180"],
        ["staffing", "--aht", "180"],
        ["staffing", "--calls", "100", "--aht", "180", "--shrinkage", "150"],
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "--" in err  # names the argument


def test_duration_and_target_parsing() -> None:
    assert parse_duration("30m") == 1800.0
    assert parse_duration("1h") == 3600.0
    assert parse_duration("90") == 90.0
    assert parse_target("80/20") == (0.8, 20.0)
