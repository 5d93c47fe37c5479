"""The acdcore command line."""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acdcore import cli
from acdcore.cli import main, parse_args, parse_duration, parse_target
from acdcore.errors import InvalidValue

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "scenarios"

TINY = """
name = "tiny"
replications = 2
drain = 600
[[queues]]
name = "q"
[[agents]]
name = "a"
count = 2
queues = ["q"]
[traffic]
interval = 3600
rates = [5]
"""


def run(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)``: its status (a SystemExit's code included), stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 2
    return status, out.getvalue(), err.getvalue()


def refused(argv: list[str], command: str, *needles: str) -> str:
    """Assert that ``argv`` exits 2 with one line on stderr, ``acdcore
    <command>: error: ...``, holding every needle; return that line."""
    status, _, err = run(argv)
    assert status == 2, (status, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"acdcore {command}: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# ----------------------------------------------------------------- staffing


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
    assert main([*args, "--shrinkage", "30%", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    row = next(r for r in data["table"] if r["agents"] == 13)
    assert round(row["p_wait"], 4) == 0.2258
    assert round(row["p_abandon"], 5) == 0.02496
    assert round(row["asa"] / 60, 4) == 0.1248
    assert round(row["occupancy"], 3) == 0.750
    assert data["required"] == 13 and data["scheduled"] == 19


def test_fractions_are_0_85_or_85_percent_and_both_mean_the_same() -> None:
    base = ["staffing", "--calls", "100", "--aht", "180", "--json"]
    answers = set()
    for occupancy, shrinkage in (("0.7", "0.3"), ("70%", "30%"), ("70 %", ".3")):
        status, out, _ = run([*base, "--max-occupancy", occupancy, "--shrinkage", shrinkage])
        assert status == 0
        data = json.loads(out)
        answers.add((data["required"], data["scheduled"]))
    assert answers == {(15, 22)}


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        # The examples.
        (
            ["--max-occupancy", "1.5"],
            ["argument --max-occupancy", "'1.5' is ambiguous", "write 1.5% for 1.5 percent"],
        ),
        (["--interval", "15"], ["argument --interval", "'15' has no unit", "15m", "15s"]),
        (["--seed", "abc"], ["unrecognized arguments: --seed abc", "it takes --aht, --calls"]),
        (["--calls", "nan"], ["argument --calls", "'nan' is not a number of calls", "above 0"]),
        (["--calls", "-100"], ["argument --calls", "'-100' must be above 0"]),
        # The same kinds of problem elsewhere.
        (["--calls", "-1e5"], ["argument --calls", "'-1e5' must be above 0"]),
        (["--calls", "inf"], ["argument --calls", "is not a number of calls"]),
        (["--calls", "1e400"], ["argument --calls", "too large"]),
        (["--calls", "1_000"], ["argument --calls", "is not a number of calls"]),
        (["--calls", "1e9"], ["arguments --calls, --interval, --aht", "at most 100,000 erlangs"]),
        (["--shrinkage", "30"], ["argument --shrinkage", "'30' is ambiguous", "write 30%"]),
        (["--shrinkage", "1"], ["argument --shrinkage", "below 1 (100%)", "write 1%"]),
        (["--shrinkage", "150%"], ["argument --shrinkage", "below 1 (100%)"]),
        (["--shrinkage", "-0.1"], ["argument --shrinkage", "'-0.1' must be at least 0"]),
        (["--max-occupancy", "0"], ["argument --max-occupancy", "must be above 0"]),
        (["--max-occupancy", "120%"], ["argument --max-occupancy", "at most 100%"]),
        (["--max-occupancy", "high"], ["argument --max-occupancy", "write an occupancy cap as"]),
        (["--max-occupancy", "0.000001"], ["argument --max-occupancy", "1,000,000 agents"]),
        (["--target", "0.8/20"], ["argument --target", "write 80/20", "0.8%/20"]),
        (["--target", "180/20"], ["argument --target", "above 0 and below 100"]),
        (["--target", "80"], ["argument --target", "PERCENT/SECONDS"]),
        (["--target", "80/soon"], ["argument --target", "'soon' is not a number of seconds"]),
        (["--aht", "3x"], ["argument --aht", "unknown unit 'x'", "s, m (or min) or h"]),
        (["--aht", "-3m"], ["argument --aht", "longer than zero"]),
        (["--aht", "0"], ["argument --aht", "longer than zero"]),
        (["--aht", "1e-9"], ["argument --aht", "shorter than 1 ms"]),
        (["--aht", "9" * 400], ["argument --aht", "too large"]),
        (["--patience", "9999h"], ["argument --patience", "longer than 366 days"]),
        (["--patience", "-inf"], ["argument --patience", "is not a duration"]),
        (["--max-asa", "0"], ["argument --max-asa", "longer than zero"]),
        (["--interval", "٣٠٠"], ["argument --interval", "is not an interval"]),
        (["--interval", "1.5"], ["argument --interval", "1.5m", "1.5s"]),
        (["--json", "x"], ["unrecognized arguments: x"]),
    ],
)
def test_bad_staffing_arguments_exit_2_with_one_line_naming_the_option(
    extra: list[str], needles: list[str]
) -> None:
    refused(["staffing", "--calls", "100", "--aht", "180", *extra], "staffing", *needles)


def test_missing_staffing_arguments_are_named() -> None:
    refused(["staffing"], "staffing", "required: --calls, --aht")


def test_durations_need_a_unit_or_are_seconds() -> None:
    assert parse_duration("30m") == 1800.0
    assert parse_duration("30 min") == 1800.0
    assert parse_duration("1h") == 3600.0
    assert parse_duration("1.5h") == 5400.0
    assert parse_duration("90") == 90.0  # documented: a bare number is seconds
    assert parse_duration("90s") == 90.0
    assert parse_target("80/20") == (0.8, 20.0)
    assert parse_target("80%/20s") == (0.8, 20.0)
    assert parse_target("90/1m") == (0.9, 60.0)
    assert parse_target("80/0") == (0.8, 0.0)
    assert (
        parse_args(["staffing", "--calls", "1", "--aht", "1", "--interval", "900"]).interval == 900
    )


def test_a_staffing_error_from_the_library_names_the_option() -> None:
    message = str(cli._from_library(InvalidValue("patience=1e9 is too long for this load")))
    assert message.startswith("argument --patience: patience=1e9")
    message = str(cli._from_library(InvalidValue("arrival_rate must not be NaN")))
    assert message.startswith("argument --calls / --interval:")


STAFFING_OPTIONS = [
    "--calls",
    "--interval",
    "--aht",
    "--target",
    "--patience",
    "--max-asa",
    "--max-occupancy",
    "--shrinkage",
]
numbers = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-2, max_value=2).map(lambda x: f"{x:.3g}"),
    st.sampled_from(["9" * 400, "-" + "9" * 400, "1e400", "1e-400", "-0", ".5", "5.", "1_000"]),
)
values = st.one_of(
    numbers,
    st.tuples(numbers, st.sampled_from(["s", "m", "min", "h", "%", " %", "x", "ms", "d", "M"])).map(
        "".join
    ),
    st.tuples(numbers, st.sampled_from(["/", "%/"]), numbers, st.sampled_from(["", "s", "m"])).map(
        "".join
    ),
    st.text(max_size=8),
    st.sampled_from(["nan", "inf", "-inf", "NaN", "0x10", "٣", "½", "", " ", "-", "--", "-h1"]),
)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(STAFFING_OPTIONS), values, min_size=1, max_size=3))
def test_random_staffing_values_succeed_or_exit_2_with_one_line(options: dict[str, str]) -> None:
    argv = ["staffing", "--calls", "100", "--aht", "180"]
    for option, value in options.items():
        argv += [option, value]
    status, out, err = run(argv)
    assert "Traceback" not in err
    if status == 0:
        assert "required:" in out
        return
    assert status == 2, (argv, status, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("acdcore staffing: error: "), (argv, err)


@settings(max_examples=80, deadline=None)
@given(reps=values, seed=values)
def test_random_reps_and_seeds_parse_or_exit_2_with_one_line(reps: str, seed: str) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = parse_args(["simulate", "x.toml", "--reps", reps, "--seed", seed])
        except SystemExit as exc:
            assert exc.code == 2
            lines = err.getvalue().splitlines()
            assert len(lines) == 1 and lines[0].startswith("acdcore simulate: error: ")
            return
    assert isinstance(args.reps, int) and 1 <= args.reps <= 10_000
    assert isinstance(args.seed, (int, str))
    if isinstance(args.seed, str):
        assert args.seed.strip() == args.seed and args.seed
        with pytest.raises(ValueError):
            float(args.seed)


# --------------------------------------------------------------- simulation


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
    path = EXAMPLES / "small_team.toml"
    assert main(["simulate", str(path), "--reps", "2", "--seed", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["seed"] == 3 and len(data["replications"]) == 2
    assert 0 <= data["kpis"]["service_level"]["mean"] <= 1
    assert set(data["queue_kpis"]) == {"support", "sales", "billing"}


def test_a_negative_or_text_seed_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    for seed, expected in (("-5", -5), ("monday", "monday"), ("+7", 7)):
        status, out, err = run(["simulate", str(path), "--reps", "1", "--seed", seed, "--json"])
        assert status == 0, err
        assert json.loads(out)["seed"] == expected


def test_simulate_reports_a_bad_scenario_by_its_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\n[[queues]]\nname = "q"\n[[agents]]\nname = "a"\ncount = 1\n'
        'skills = { billing = 12 }\nqueues = ["q"]\n[traffic]\ninterval = 1800\nrates = [1]\n'
    )
    refused(["simulate", str(bad)], "simulate", "bad.toml: agents[0].skills.billing: level 12")


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b'name = "caf\xe9"\n', ["not UTF-8 text (byte 0xe9 on line 1)"]),
        (("x = " + "[" * 5000 + "]" * 5000).encode(), ["not valid TOML", "nested too deeply"]),
        (
            TINY.replace("drain = 600", "duration = 1" + "0" * 400).encode(),
            ["duration: must be finite, got an int of 401 digits"],
        ),
        (b"x = 1" + b"0" * 5000, ["not valid TOML"]),
        (b"hello, world\n", ["not valid TOML"]),
        (
            TINY.replace(
                "[traffic]",
                "[traffic]\ncall_types = [{ name = 'v', priority = 1152921504606846976 }]",
            ).encode(),
            ["traffic.call_types[0].priority: must be an int within +-2**53"],
        ),
        (
            TINY.replace(
                'name = "q"',
                'name = "q"\npolicy = { name = "value-urgency", matrix = [[0], [1], [2]] }',
            )
            .replace(
                "[traffic]",
                "[traffic]\ncall_types = [{ name = 'v', attributes = { customer_value = 7 } }]",
            )
            .encode(),
            ["traffic.call_types[0].attributes.customer_value: queue 'q' (value-urgency)", "0..2"],
        ),
        (
            TINY.replace('name = "q"', 'name = "q"\npolicy = "accumulating"')
            .replace(
                "[traffic]",
                "[traffic]\ncall_types = [{ name = 'v', priority = 1" + "0" * 400 + " }]",
            )
            .encode(),
            [
                "traffic.call_types[0].priority: must be an int within +-2**53, got an int of 401 digits"
            ],
        ),
        (
            TINY.replace("count = 2", "count = 1000000000000").encode(),
            ["agents[0].count: must be at most 100,000"],
        ),
    ],
)
def test_unreadable_or_bad_scenario_files_exit_2_with_one_line(
    tmp_path: Path, content: bytes, needles: list[str]
) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(content)
    refused(["simulate", str(path)], "simulate", "s.toml", *needles)


def test_missing_files_directories_and_devices_exit_2(tmp_path: Path) -> None:
    refused(["simulate", str(tmp_path / "nope.toml")], "simulate", "No such file")
    refused(["simulate", str(tmp_path)], "simulate", "it is a directory")
    refused(["simulate", "/dev/zero"], "simulate", "not a regular file")
    refused(["simulate"], "simulate", "required: scenario")


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--reps", "0"], ["argument --reps", "at least 1"]),
        (["--reps", "-3"], ["argument --reps", "'-3' is not a whole number"]),
        (["--reps", "2.5"], ["argument --reps", "not a whole number of replications"]),
        (["--reps", "1e3"], ["argument --reps", "not a whole number"]),
        (["--reps", "99999"], ["argument --reps", "more than 10,000"]),
        (["--reps", "9000"], ["argument --reps", "per-agent interval figures"]),
        (["--seed", "1.5"], ["argument --seed", "looks like a number", "monday"]),
        (["--seed", "nan"], ["argument --seed", "looks like a number"]),
        (["--seed", "0x10"], ["argument --seed", "looks like a number"]),
        (["--seed", ""], ["argument --seed", "not blank"]),
        (["--seed", " 7x"], ["argument --seed", "spaces around it"]),
        (["--seed", "9" * 101], ["argument --seed", "at most 100 digits"]),
        (["--plot", "out.txt"], ["argument --plot", "must end in .png, .pdf or .svg"]),
        (["--plot", "/no/such/dir/out.png"], ["argument --plot", "no directory '/no/such/dir'"]),
        (
            ["--calls", "5"],
            ["unrecognized arguments: --calls 5", "it takes --help, --journal, --json"],
        ),
    ],
)
def test_bad_simulation_arguments_exit_2_with_one_line_naming_the_option(
    tmp_path: Path, extra: list[str], needles: list[str]
) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(
        TINY.replace("count = 2", "count = 100").replace("rates = [5]", "rates = [5, 5]")
    )
    refused(["simulate", str(path), *extra], "simulate", *needles)
    if extra[0] != "--calls":
        refused(["demo", *extra], "demo", *needles[:1])


def test_the_command_runs_as_a_program_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(b"\xff\xfe")
    out = subprocess.run(
        [sys.executable, "-m", "acdcore", "simulate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("acdcore simulate: error: ")
    assert "not UTF-8 text" in out.stderr


def test_seed_may_be_text_like_in_scenarios() -> None:
    assert cli._seed("42") == 42
    assert cli._seed("monday") == "monday"
    assert math.isclose(parse_duration("0.5s"), 0.5)


def test_plot_without_matplotlib_fails_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib: ImportError
    status, out, err = run(["demo", "--plot", str(tmp_path / "out.png")])
    assert status == 1
    assert out == ""  # nothing was simulated
    assert err.splitlines() == [
        "acdcore demo: error: --plot needs matplotlib: pip install 'acdcore[plot]'"
    ]


def test_python_m_acdcore_sim_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The module's own entry point follows the acdcore command's rule."""
    from acdcore import sim

    bad = tmp_path / "bad.toml"
    bad.write_text("x = [[[[")
    for argv in ([str(bad)], [str(EXAMPLES / "small_team.toml"), "-n", "100000000"]):
        with pytest.raises(SystemExit) as exc:
            sim.main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("python -m acdcore.sim: error: ") and err.count("\n") == 1


def test_simulate_bounds_replications_given_from_python() -> None:
    from acdcore import ConfigError, Scenario, simulate

    scenario = Scenario.load(EXAMPLES / "small_team.toml")
    with pytest.raises(ConfigError, match="replications"):
        simulate(scenario, 10**8)


def _journal_of(tmp_path: Path, name: str) -> Path:
    """The journal of one simulated run of an example scenario, written by
    ``acdcore simulate --journal``."""
    path = tmp_path / f"{name}.jsonl"
    argv = ["simulate", str(EXAMPLES / name), "--reps", "1", "--json", "--journal", str(path)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    return path


def test_simulate_refuses_a_journal_it_cannot_write_before_running(tmp_path: Path) -> None:
    code, _, err = run(
        ["simulate", str(EXAMPLES / "small_team.toml"), "--journal", str(tmp_path / "no" / "j")]
    )
    assert code == 2 and "--journal: no directory" in err and "Traceback" not in err


def test_replay_of_a_simulated_day_gives_the_same_decisions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _journal_of(tmp_path, "bank_vip.toml")
    assert main(["replay", str(path), "--config", str(EXAMPLES / "bank_vip.toml")]) == 0
    out = capsys.readouterr().out
    assert "the same decisions as recorded" in out and "CallArrived" in out
    # Built differently (another scenario's queues), it cannot be the same.
    assert main(["replay", str(path), "--config", str(EXAMPLES / "small_team.toml")]) == 1
    assert "refused entry" in capsys.readouterr().out


def test_replay_warns_of_a_torn_line_and_names_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _journal_of(tmp_path, "small_team.toml")
    config = ["--config", str(EXAMPLES / "small_team.toml")]
    whole = path.read_bytes()
    path.write_bytes(whole[:-30])
    assert main(["replay", str(path), *config]) in (0, 1)  # the run stops at the cut
    assert "torn last line" in capsys.readouterr().err
    lines = whole.split(b"\n")
    lines[5] = b"{oops"
    path.write_bytes(b"\n".join(lines))
    assert main(["replay", str(path), *config]) == 2
    err = capsys.readouterr().err
    assert "line 6: " in err and err.count("\n") == 1 and "Traceback" not in err
    assert main(["replay", str(path), *config, "--lenient"]) == 1  # one line was not replayed
    out = capsys.readouterr().out
    assert "skipped line 6" in out and out.count("skipped line") == 1
    assert main(["replay", str(tmp_path / "none.jsonl"), *config]) == 2


# ------------------------------------------------------- reports and plots


def _no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any simulation fail the test: what is checked must be checked first."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before checking the arguments")

    monkeypatch.setattr(cli, "simulate", refuse)


def test_one_replication_prints_values_without_infinite_intervals() -> None:
    status, out, err = run(["simulate", str(EXAMPLES / "bank_vip.toml"), "--reps", "1"])
    assert status == 0, err
    assert "inf" not in out and "[0," not in out
    assert "no confidence interval: that needs 2 or more replications" in out
    asa = next(line for line in out.splitlines() if line.startswith("asa "))
    assert "[" not in asa and len(asa.split()) == 5  # all, vip, retail, cards
    status, out, err = run(["simulate", str(EXAMPLES / "bank_vip.toml"), "--reps", "1", "--json"])

    def strict(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON")

    data = json.loads(out, parse_constant=strict)
    assert data["kpis"]["asa"]["low"] is None and data["kpis"]["asa"]["high"] is None
    assert data["kpis"]["asa"]["mean"] > 0


def test_the_report_clips_intervals_and_states_the_service_level() -> None:
    status, out, err = run(["simulate", str(EXAMPLES / "bank_vip.toml"), "--reps", "2"])
    assert status == 0, err
    assert "[-" not in out  # no interval below 0
    for line in out.splitlines():
        for low, high in re.findall(r"\[(-?[\d.]+), (-?[\d.]+)\]", line):
            assert 0 <= float(low) <= float(high), line
            if line.startswith(("service_level", "abandon_rate", "occupancy")):
                assert float(high) <= 100, line
    assert "service level: answered within T s over answered + abandoned calls" in out
    assert "  vip     T = 10 s, target 90%" in out.splitlines()
    assert "clipped to what a figure can take" in out


def test_hotline_callbacks_reports_its_callbacks() -> None:
    path = EXAMPLES / "hotline_callbacks.toml"
    status, out, err = run(["simulate", str(path), "--reps", "2"])
    assert status == 0, err
    assert "callbacks, by the queue the caller asked for:" in out
    for kpi in ("callbacks_offered", "callbacks_accepted", "callbacks_answered"):
        assert re.search(rf"^{kpi} +\d+\.\d \[", out, re.M), kpi
    status, out, err = run(["simulate", str(path), "--reps", "2", "--json"])
    assert json.loads(out)["kpis"]["callbacks_accepted"]["mean"] > 0


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: d / "out.txt", "must end in .png, .pdf or .svg"),
        (lambda d: d / "out", "must end in .png, .pdf or .svg"),
        (lambda d: d / ".png", "give a file name before the extension"),
        (lambda d: d / "no" / "out.png", "there is no directory"),
        (lambda d: d / "a.png", "is a directory"),
        (lambda d: d / "file" / "out.png", "is not a directory"),
    ],
)
def test_a_bad_plot_path_exits_2_in_one_line_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Any, needle: str
) -> None:
    (tmp_path / "a.png").mkdir()
    (tmp_path / "file").write_text("")
    _no_simulation(monkeypatch)
    path = str(make(tmp_path))
    scenario = str(EXAMPLES / "bank_vip.toml")
    refused(["simulate", scenario, "--reps", "2", "--plot", path], "simulate", "--plot", needle)
    refused(["demo", "--plot", path], "demo", "--plot", needle)


def test_scenario_headers_name_the_real_command() -> None:
    import shlex

    for path in sorted(EXAMPLES.glob("*.toml")):
        header = [line for line in path.read_text().splitlines() if line.startswith("#")]
        text = "\n".join(header)
        assert "python -m acdcore.sim" not in text, path.name
        commands = [
            line.lstrip("# ") for line in header if line.lstrip("# ").startswith("acdcore ")
        ]
        assert commands, path.name
        for command in commands:
            args = parse_args(shlex.split(command)[1:])
            assert args.command == "simulate" and args.scenario.endswith(path.name)


def test_plot_series_are_clipped_and_have_no_band_with_one_replication() -> None:
    from acdcore import Scenario, simulate

    scenario = Scenario.load(EXAMPLES / "bank_vip.toml")
    two = simulate(scenario, replications=2)
    for name, _, series in cli._plot_lines(two):
        for kpi, scale, top in (("service_level", 100, 100), ("asa", 1, math.inf)):
            means, lows, highs = cli._plot_series([s.get(kpi) for s in series], scale)
            drawn = [v for v in (*means, *lows, *highs) if not math.isnan(v)]
            assert drawn and all(0 <= v <= top for v in drawn), (name, kpi)
    assert [name for name, _, _ in cli._plot_lines(two)] == [
        "vip", "retail", "cards", "all queues"
    ]  # fmt: skip
    one = simulate(scenario, replications=1)
    for _, _, series in cli._plot_lines(one):
        means, lows, highs = cli._plot_series([s.get("asa") for s in series])
        assert all(math.isnan(v) for v in (*lows, *highs))
        assert any(not math.isnan(v) for v in means)


def _axes(fig: Any) -> dict[str, Any]:
    return {ax.get_label(): ax for ax in fig.axes}


def test_the_plot_of_bank_vip_is_written_and_its_axes_can_be_trusted(tmp_path: Path) -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    from matplotlib.container import ErrorbarContainer

    from acdcore import Scenario, simulate

    out = tmp_path / "bank.png"
    status, text, err = run(
        ["simulate", str(EXAMPLES / "bank_vip.toml"), "--reps", "2", "--plot", str(out)]
    )
    assert status == 0, err
    assert f"plot written to {out}" in text
    assert out.read_bytes().startswith(b"\x89PNG") and out.stat().st_size > 50_000

    scenario = Scenario.load(EXAMPLES / "bank_vip.toml")
    for reps in (2, 1):
        fig = cli._figure(simulate(scenario, replications=reps), plt)
        try:
            axes = _axes(fig)
            assert set(axes) == {"service_level", "asa", "abandon_rate", "occupancy", "waits"}
            sl = axes["service_level"]
            assert sl.get_ylim() == (0.0, 100.0)
            targets = sorted(
                line.get_ydata()[0] for line in sl.get_lines() if line.get_linestyle() == "--"
            )
            assert targets == [80.0, 90.0]  # retail and cards; vip
            names = [line.get_label() for line in sl.get_lines()]
            assert "vip (T = 10 s)" in names and "all queues" in names
            assert "%" in sl.yaxis.get_major_formatter()(50, 0)
            for name in ("asa", "abandon_rate", "occupancy", "waits"):
                assert axes[name].get_ylim()[0] == 0.0, name
            for name in ("abandon_rate", "occupancy"):
                assert axes[name].get_ylim()[1] <= 100.0, name
            assert axes["asa"].get_ylabel() == "seconds"
            bars = [c for c in sl.containers if isinstance(c, ErrorbarContainer)]
            assert len(bars) == (4 if reps == 2 else 0)  # a line per queue and all queues
            for ax in fig.axes:
                assert ax.get_title(), ax.get_label()
        finally:
            plt.close(fig)


def test_the_plot_of_a_callback_scenario_has_a_callback_panel(tmp_path: Path) -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    from acdcore import Scenario, simulate

    result = simulate(Scenario.load(EXAMPLES / "hotline_callbacks.toml"), replications=2)
    fig = cli._figure(result, plt)
    try:
        axes = _axes(fig)
        assert "callbacks" in axes
        labels = [ln.get_label() for ln in axes["callbacks"].get_lines()]
        labels = [label for label in labels if not label.startswith("_")]
        assert labels[:3] == ["offered a callback", "accepted", "answered by the customer"]
        shown = [ln.get_label() for ln in axes["service_level"].get_lines()]
        assert [label for label in shown if not label.startswith("_")] == [
            "hotline", "target 80%"
        ]  # fmt: skip
    finally:
        plt.close(fig)
    cli._plot(result, str(tmp_path / "hotline.svg"))
    assert (tmp_path / "hotline.svg").read_text().lstrip().startswith("<?xml")


def test_serve_refuses_a_bad_configuration_or_port_in_one_line(tmp_path: Path) -> None:
    code, _, err = run(["serve", "--config", str(tmp_path / "none.toml")])
    assert code == 2 and err.count("\n") == 1 and "--config" in err and "Traceback" not in err
    code, _, err = run(["serve", "--config", "x.toml", "--port", "99999"])
    assert code == 2 and "a port is 0 to 65535, got 99999" in err


def test_version_names_the_version_and_the_backend(backend: str) -> None:
    import acdcore
    from acdcore import backend as chosen

    status, out, _ = run(["--version"])
    assert status == 0
    assert out.startswith(f"acdcore {acdcore.__version__}, backend {chosen.BACKEND} (")
    assert out.count("\n") == 1  # one line, never wrapped


def test_version_says_why_the_native_backend_is_missing(monkeypatch: Any) -> None:
    from acdcore import backend

    monkeypatch.setattr(backend, "BACKEND", "python")
    monkeypatch.setattr(backend, "native_available", lambda: False)
    assert "the native extension was not built" in backend.describe()
    monkeypatch.setattr(backend, "native_available", lambda: True)
    assert "ACDCORE_BACKEND=python" in backend.describe()


@pytest.mark.parametrize("command", ["report", "whatif"])
def test_both_report_commands_read_a_utc_offset_the_same_way(command: str) -> None:
    extra = ["--scenario", "x.toml"] if command == "whatif" else []
    status, _, err = run([command, "log", "--tz-offset", "nan", *extra])
    assert status == 2 and "is not a number of hours from -24 to 24" in err
