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


def test_demo_simulates_a_hotline_day_and_prints_the_kpi_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--reps", "2"]) == 0
    out = capsys.readouterr().out
    assert "a day in a hotline" in out
    for kpi in ("service_level", "asa", "aht", "abandon_rate", "occupancy"):
        assert kpi in out
    assert "08:00" in out and "19:30" in out


def test_simulate_a_scenario_file_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "scenarios" / "small_team.toml"
    assert main(["simulate", str(path), "--reps", "2", "--seed", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["seed"] == 3 and len(data["replications"]) == 2
    assert 0 <= data["kpis"]["service_level"]["mean"] <= 1
    assert set(data["queue_kpis"]) == {"support", "sales", "billing"}


def test_simulate_reports_a_bad_scenario_by_its_key(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "bad.toml"
    bad.write_text(
        'name = "x"\n[[queues]]\nname = "q"\n[[agents]]\nname = "a"\ncount = 1\n'
        'skills = { billing = 12 }\nqueues = ["q"]\n[traffic]\ninterval = 1800\nrates = [1]\n'
    )
    assert main(["simulate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "agents[0].skills.billing" in err
    assert main(["simulate", str(Path(str(tmp_path)) / "missing.toml")]) == 2


def test_seed_may_be_text_like_in_scenarios() -> None:
    from acdcore.cli import _seed

    assert _seed("42") == 42
    assert _seed("monday") == "monday"
