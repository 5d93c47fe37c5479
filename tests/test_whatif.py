"""What-if on real traffic (:mod:`acdcore.whatif`).

- The calls and the estimators on a hand-made queue_log whose figures can be
  worked out by hand, and the Kaplan-Meier curve.
- The trace: arrival times, talk and patience per call, censored patience
  drawn beyond the wait.
- Clock 0 on the log's day, for a time-of-day and a dated start.
- The validation: a known scenario simulated, written as a queue_log, read
  back and estimated lands within its sampling error; the censored MLE does
  not share the naive estimator's bias.
- ``acdcore whatif``: a log of an example day replayed against its own
  scenario comes back close to what was observed; routing-plan call types;
  errors in one line.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import random
import tomllib
from pathlib import Path
from typing import Any

import pytest

from acdcore import Scenario, run_replication
from acdcore.cli import main
from acdcore.queuelog import QueueLogWriter
from acdcore.queuelog_read import read_queue_log
from acdcore.whatif import (
    clock_origin,
    estimate_parameters,
    kaplan_meier,
    observed_calls,
    trace,
    validate,
    whatif,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "scenarios"
MIDNIGHT = 1_772_409_600  # 2026-03-02 00:00 UTC
T0 = MIDNIGHT + 8 * 3600

# Queue q: c1 answered after 10 s (rang 2 s), talks 100 s; c2 hangs up after
# 30 s; c3 rings out once (15 s), is answered after 40 s (rang 4 s), talks
# 200 s; c4 hangs up after 50 s. Queue r: c5 leaves at its maximum wait after
# 60 s; c6 is still waiting when the log ends, 60 s after it came.
HAND = f"""\
{T0}|c1|q|NONE|ENTERQUEUE||5551|1
{T0 + 5}|c2|q|NONE|ENTERQUEUE||5552|2
{T0 + 10}|c1|q|a1|CONNECT|10|leg1|2
{T0 + 20}|c3|q|NONE|ENTERQUEUE||5553|2
{T0 + 30}|c5|r|NONE|ENTERQUEUE||5555|1
{T0 + 35}|c2|q|NONE|ABANDON|1|2|30
{T0 + 40}|c3|q|a2|RINGNOANSWER|15000
{T0 + 60}|c3|q|a2|CONNECT|40|leg2|4
{T0 + 90}|c5|r|NONE|EXITWITHTIMEOUT|1|1|60
{T0 + 100}|c4|q|NONE|ENTERQUEUE||5554|1
{T0 + 110}|c1|q|a1|COMPLETECALLER|10|100|1
{T0 + 150}|c4|q|NONE|ABANDON|1|1|50
{T0 + 200}|c6|r|NONE|ENTERQUEUE||5556|1
{T0 + 260}|c3|q|a2|COMPLETEAGENT|40|200|2
"""


def _hand() -> Any:
    return observed_calls(read_queue_log(HAND.encode()).lines)


def test_the_calls_of_a_hand_made_log() -> None:
    calls = {c.call_id: c for c in _hand()}
    assert [c.call_id for c in _hand()] == ["c1", "c2", "c3", "c5", "c4", "c6"]
    got = {k: (c.queue, c.arrived - T0, c.outcome, c.wait, c.talk) for k, c in calls.items()}
    assert got == {
        "c1": ("q", 0, "answered", 10, 100),
        "c2": ("q", 5, "abandoned", 30, None),
        "c3": ("q", 20, "answered", 40, 200),
        "c4": ("q", 100, "abandoned", 50, None),
        "c5": ("r", 30, "exited", 60, None),
        "c6": ("r", 200, "unfinished", 60, None),  # censored at the log's end
    }
    assert calls["c3"].rings == (("q", 15.0, False), ("q", 4.0, True))
    assert calls["c3"].legs == (("q", 200.0),)


def test_the_estimators_on_a_hand_made_log() -> None:
    params = estimate_parameters(_hand())
    q = params["q"]
    hours = 200 / 3600  # the first to the last arrival
    assert q.calls == 4 and q.hours == pytest.approx(hours)
    assert q.arrival_rate == pytest.approx(4 / hours)  # 72 calls/h
    assert q.arrival_rate_se == pytest.approx(2 / hours)
    assert (q.legs, q.mean_handle, q.mean_handle_se) == (2, 150, pytest.approx(50))
    assert (q.answered_rings, q.mean_ring, q.mean_ring_se) == (2, 3, pytest.approx(1))
    assert (q.ring_outs, q.mean_ring_out, q.rona) == (1, 15, pytest.approx(1 / 3))
    # 2 hang-ups over 10 + 30 + 40 + 50 = 130 s of waiting, answered waits included
    assert (q.abandons, q.exposure) == (2, 130)
    assert q.patience_rate == pytest.approx(2 / 130)
    assert q.mean_patience == pytest.approx(65)
    assert q.mean_patience_se == pytest.approx(65 / math.sqrt(2))
    assert q.median_patience == pytest.approx(65 * math.log(2))
    assert q.km_median_patience == 50  # S(30) = 2/3, S(50) = 0
    assert q.naive_patience == 40  # the censored answered callers left out
    r = params["r"]
    assert (r.calls, r.abandons, r.exposure) == (2, 0, 120)
    assert r.mean_patience is None and r.km_median_patience is None
    assert r.mean_handle is None and r.rona is None
    window = estimate_parameters(_hand(), window=(T0, T0 + 3600))["q"]
    assert window.arrival_rate == 4 and window.arrival_rate_se == 2
    json.dumps(q.to_dict(), allow_nan=False)


def test_kaplan_meier_steps_and_ties() -> None:
    # a censored wait at an event time is still at risk then
    steps = kaplan_meier(
        [(10, False), (30, True), (30, False), (40, True), (40, True), (50, False)]
    )
    assert [t for t, _ in steps] == [30, 40]
    assert [s for _, s in steps] == pytest.approx([1 - 1 / 5, (4 / 5) * (1 - 2 / 3)])
    assert kaplan_meier([(5, False)]) == ()


def test_the_trace_of_a_hand_made_log() -> None:
    calls = _hand()
    plain = trace(calls, T0)
    got = [(c.t, c.queue, c.handle, c.patience) for c in plain]
    assert got == [
        (0, "q", 100, None),
        (5, "q", None, 30),  # hung up: its wait was its patience
        (20, "q", 200, None),
        (30, "r", None, None),
        (100, "q", None, 50),
        (200, "r", None, None),
    ]
    rate = 2 / 130
    drawn = trace(calls, T0 - 60, patience_rates={"q": rate}, rng=random.Random(5))
    rng = random.Random(5)
    first, second = 10 + rng.expovariate(rate), 40 + rng.expovariate(rate)
    assert [c.t for c in drawn] == [60, 65, 80, 90, 160, 260]
    assert [c.patience for c in drawn] == pytest.approx([first, 30, second, None, 50, None])
    typed = trace(calls, T0, call_type=lambda queue, t: f"{queue}-type")
    assert {c.call_type for c in typed} == {"q-type", "r-type"}


def _scenario(start: Any) -> Scenario:
    return Scenario.from_dict(
        {"start": start, "queues": [{"name": "q"}], "traffic": {"rates": [1.0]}}
    )


def test_clock_zero_is_the_start_on_the_day_of_the_first_call() -> None:
    nine = _scenario("09:00")
    assert clock_origin(nine, MIDNIGHT + 9 * 3600 + 100) == MIDNIGHT + 9 * 3600
    assert clock_origin(nine, MIDNIGHT + 8 * 3600) == MIDNIGHT + 9 * 3600 - 86400
    # 09:00 in UTC+1 is 08:00 UTC
    assert clock_origin(nine, MIDNIGHT + 8 * 3600 + 5, 3600) == MIDNIGHT + 8 * 3600
    dated = _scenario(dt.datetime(2026, 11, 27, 8, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    assert clock_origin(dated, MIDNIGHT + 7.5 * 3600, 99) == MIDNIGHT + 7 * 3600


def test_the_pipeline_recovers_known_parameters_within_their_sampling_error() -> None:
    v = validate(seed=1)
    p = v.estimated
    assert p.calls > 500 and p.abandons > 50
    z = v.z_scores()
    assert all(abs(x) < 3 for x in z.values()), z
    true = v.truth["mean_patience"]
    assert p.mean_patience is not None and p.mean_patience_se is not None
    assert abs(p.mean_patience - true) < 3 * p.mean_patience_se
    # leaving the answered callers out is biased far low; the censored MLE is not
    assert p.naive_patience is not None and p.naive_patience < 0.5 * true
    assert (true - p.naive_patience) > 6 * p.mean_patience_se
    assert p.km_median_patience == pytest.approx(true * math.log(2), rel=0.3)
    assert "ENTERQUEUE" in v.log and "ABANDON" in v.log
    assert "mean_patience" in v.report()


def _log(tmp_path: Path, name: str, seed: str = "log") -> tuple[Scenario, Path]:
    """An example day written as a queue_log, its clock 0 at the scenario's
    start on 2026-03-02 (UTC)."""
    scenario = Scenario.load(EXAMPLES / name)
    steps: list[Any] = []
    run_replication(scenario, random.Random(seed), journal=steps)
    out = io.StringIO()
    epoch = MIDNIGHT - scenario.clock("00:00") if scenario.origin == 0 else 0.0
    writer = QueueLogWriter(out, epoch=epoch)
    for what, actions in steps:
        writer.observe(None if isinstance(what, float) else what, actions)
    path = tmp_path / f"{name}.log"
    path.write_text(out.getvalue())
    return scenario, path


def test_whatif_replays_a_day_against_its_own_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, log = _log(tmp_path, "small_team.toml")
    scenario = str(EXAMPLES / "small_team.toml")
    args = ["whatif", str(log), "--scenario", scenario, "--reps", "4", "--seed", "3"]
    assert main([*args, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["replications"] == 4 and d["start"] == "2026-03-02 09:00"
    for side in [d["all"], *d["queues"].values()]:
        obs, sim = side["observed"], side["simulated"]
        assert obs["offered"] > 0
        assert sim["offered"]["mean"] == obs["offered"] and sim["offered"]["sd"] == 0
        assert abs(sim["answered"]["mean"] - obs["answered"]) <= max(3, 0.05 * obs["answered"])
        assert abs(sim["abandon_rate"]["mean"] - obs["abandon_rate"]) < 0.05
        assert sim["aht"]["mean"] == pytest.approx(obs["aht"], rel=0.03)
    assert set(d["queues"]) == {"support", "sales", "billing"}
    assert set(d["parameters"]) == {"support", "sales", "billing"}
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "clock 0: 2026-03-02 09:00" in out and "estimated from the log" in out
    assert "T = 30 s" in out
    assert main([*args, "--threshold", "10s", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d["service_level"]["thresholds"].values()) == {10}


def test_a_routing_plan_gets_the_call_types_it_routes(tmp_path: Path) -> None:
    scenario, log = _log(tmp_path, "bank_vip.toml")
    read = read_queue_log(log)
    result = whatif(read, scenario, replications=2, seed=1)
    types = {(c.queue, c.call_type) for c in result.scenario.traffic.replay_calls}
    assert types == {("vip", "vip"), ("retail", "retail"), ("cards", "card")}
    for q in ("vip", "retail", "cards"):  # served where they were: the same talk plus wrap-up
        sim = result.simulated[q]["aht"]
        obs = result.observed[q]["aht"]
        assert sim is not None and obs is not None and sim.mean == pytest.approx(obs, rel=0.03)
    assert result.notes == ()
    data = tomllib.loads((EXAMPLES / "bank_vip.toml").read_text())
    data["traffic"]["call_types"] = [
        t for t in data["traffic"]["call_types"] if t["name"] != "card"
    ]
    no_cards = Scenario.from_dict(data, base_dir=EXAMPLES)
    notes = whatif(read, no_cards, replications=1).notes
    assert any("'cards'" in n and "'retail'" in n for n in notes)


def test_whatif_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "q.log"
    log.write_text(HAND.replace("|q|", "|support|").replace("|r|", "|nosuch|"))
    scenario = str(EXAMPLES / "small_team.toml")
    cases = [
        (["whatif", str(log), "--scenario", scenario], "queue 'nosuch' is not a queue of"),
        (["whatif", str(log), "--scenario", str(tmp_path / "none.toml")], "none.toml"),
        (["whatif", str(tmp_path / "none.log"), "--scenario", scenario], "none.log"),
    ]
    bad = tmp_path / "bad.log"
    bad.write_text(f"{T0}|c1|q|NONE|CONNECT|x|y|z\n")
    cases.append((["whatif", str(bad), "--scenario", scenario], "bad.log: line 1"))
    empty = tmp_path / "empty.log"
    empty.write_text(f"{T0}|NONE|NONE|NONE|QUEUESTART|\n")
    cases.append((["whatif", str(empty), "--scenario", scenario], "no calls"))
    for argv, needle in cases:
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("acdcore whatif: error: "), lines
        assert needle in lines[0], lines
    for option in (["--reps", "2.5"], ["--seed", "1.5"], ["--tz-offset", "nan"]):
        with pytest.raises(SystemExit) as exc:
            main(["whatif", str(log), "--scenario", scenario, *option])
        assert exc.value.code == 2
        assert len(capsys.readouterr().err.splitlines()) == 1
