"""Asterisk's queue_log: written from acdcore, read back from any release.

- The writer's lines, event by event, in the layout of Asterisk 13 to 23.
- The round trip: a queue_log written from a run reads back to exactly the
  KPIs :class:`~acdcore.metrics.Metrics` computed live (a property over random
  runs, and the example scenarios).
- The reader: the layouts of 1.4 to 23, the realtime CSV export, lines out of
  order, unknown events, calls that never end, a torn last line, wrong
  encodings; strict mode names the first bad line, lenient mode counts them.
- ``acdcore report`` on the two real sample files.
"""

from __future__ import annotations

import io
import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from acdcore import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentProfile,
    AgentResumed,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CallTransferred,
    Distributor,
    Metrics,
    NoAnswerPolicy,
    OfferAnswered,
    QueueConfig,
    RoutingPlan,
    Scenario,
    run_replication,
)
from acdcore.cli import main
from acdcore.queuelog import QueueLogWriter
from acdcore.queuelog_read import QueueLogError, read_queue_log
from acdcore.queuelog_report import report
from acdcore.store import feed

from .test_determinism import drive, ops, setups

DATA = Path(__file__).with_name("data")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "scenarios"


class Recording:
    """A distributor whose steps are fed to live metrics and a queue_log writer."""

    def __init__(self, acd: Distributor, metrics: Metrics, writer: QueueLogWriter) -> None:
        self.acd, self.metrics, self.writer = acd, metrics, writer
        self.rerouted = False  # a plan sent an arrival to another queue than it named

    def __getattr__(self, name: str) -> Any:
        return getattr(self.acd, name)

    def advance(self, now: float) -> list[Any]:
        out = self.acd.advance(now)
        feed(self.metrics, None, now, out)
        self.writer.observe(None, out)
        return out

    def handle(self, event: Any) -> list[Any]:
        out = self.acd.handle(event)
        if isinstance(event, CallArrived):
            self.rerouted |= any(
                getattr(a, "call_id", None) == event.call_id
                and getattr(a, "queue", event.queue) != event.queue
                for a in out
            )
        feed(self.metrics, event, event.now, out)
        self.writer.observe(event, out)
        return out


EPOCH = datetime(1970, 1, 1)  # the report labels intervals with real dates


def _close(rec: Recording) -> None:
    """End the day: every live call ends (or hangs up) and every agent logs
    out, so that no offer is still ringing: a log has no line for one yet."""
    t = rec.acd.now
    for call_id, state in list(rec.acd.snapshot()["calls"].items()):
        if state[0] == "connected":
            rec.handle(CallEnded(now=t, call_id=call_id))
        elif state[0] in ("waiting", "ringing"):
            rec.handle(CallAbandoned(now=t, call_id=call_id))
    for agent_id, view in rec.acd.snapshot()["agents"].items():
        if view["logged_in"]:
            rec.handle(AgentLoggedOut(now=t, agent_id=agent_id))
    rec.advance(t + 3600.0)


def _same_kpis(
    live: Metrics, back: Metrics, queues: list[str], agents: list[str], per_queue: bool = True
) -> None:
    """Equal KPIs overall, per agent, per interval and (``per_queue``) per queue."""
    end = max(live.now, back.now)
    live.advance(end)
    back.advance(end)
    for q in [None, *queues] if per_queue else [None]:
        assert _diff(back.queue_stats(q).to_dict(), live.queue_stats(q).to_dict()) == {}, q
    for a in agents:
        assert _diff(back.agent_stats(a).to_dict(), live.agent_stats(a).to_dict()) == {}, a
    for b, v in zip(back.intervals(), live.intervals(), strict=True):
        assert _diff(b.overall.to_dict(), v.overall.to_dict()) == {}, v.label
        for name, stats in v.agents.items():
            assert _diff(b.agents[name].to_dict(), stats.to_dict()) == {}, (v.label, name)
        for name, stats in v.queues.items() if per_queue else ():
            assert _diff(b.queues[name].to_dict(), stats.to_dict()) == {}, (v.label, name)


def _diff(read_back: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """What differs, with ring-no-answers and declines counted together:
    Asterisk writes RINGNOANSWER for both."""
    read_back, live = _merged(read_back), _merged(live)
    return {k: (read_back.get(k), v) for k, v in live.items() if read_back.get(k) != v}


def _merged(stats: dict[str, Any]) -> dict[str, Any]:
    out = dict(stats)
    if "rona" in out:
        out["missed"] = out.pop("rona") + out.pop("declined")
    return out


# ------------------------------------------------------------ the round trip


@settings(deadline=None)
@given(setup=setups(), steps=ops)
def test_a_written_queue_log_reads_back_to_the_live_kpis(
    setup: tuple[list[QueueConfig], RoutingPlan | None, int], steps: list[tuple[int, int, float]]
) -> None:
    configs, plan, seed = setup
    steps = [s for s in steps if s[0] != 11]  # callbacks: Asterisk has none (see docs/reports.md)
    acd = Distributor(configs, rng=random.Random(seed), plan=plan)
    live = Metrics(acd.queues, epoch=EPOCH)
    out = io.StringIO()
    rec = Recording(acd, live, QueueLogWriter(out, exact=True))
    drive(rec, steps, read=False)  # type: ignore[arg-type]
    _close(rec)
    back = report(read_queue_log(out.getvalue().encode()), queues=configs).metrics
    agents = [a for a in ("a0", "a1", "a2") if a in out.getvalue()]
    # A queue_log names the queue a call waited in; acdcore's KPIs the queue
    # its arrival named. They differ only when a plan sent it elsewhere.
    _same_kpis(live, back, [q.name for q in configs], agents, per_queue=not rec.rerouted)


@pytest.mark.parametrize("name", ["small_team.toml", "bank_vip.toml", "promotion.toml"])
def test_an_example_day_reads_back_to_the_live_kpis(name: str) -> None:
    scenario = Scenario.load(EXAMPLES / name)
    steps: list[Any] = []
    run_replication(scenario, random.Random(1), journal=steps)
    live = Metrics(scenario.queue_configs, epoch=EPOCH)
    out = io.StringIO()
    writer = QueueLogWriter(out, exact=True)
    agents: set[str] = set()
    for what, actions in steps:
        event = None if isinstance(what, float) else what
        feed(live, event, what if event is None else event.now, actions)
        writer.observe(event, actions)
        if isinstance(event, AgentLoggedIn):
            agents.add(event.profile.agent_id)
    back = report(read_queue_log(out.getvalue().encode()), queues=scenario.queue_configs)
    assert back.conversion.unknown == {} and back.conversion.orphans == 0
    _same_kpis(live, back.metrics, [q.name for q in scenario.queue_configs], sorted(agents))


# ------------------------------------------------------------ the writer


def test_the_lines_asterisk_writes_for_each_event() -> None:
    sales = QueueConfig("sales", ring_timeout=5.0, no_answer=NoAnswerPolicy(delay=0.0))
    acd = Distributor([sales, QueueConfig("vip")])
    out = io.StringIO()
    w = QueueLogWriter(out, epoch=1_700_000_000, queue_start=True)

    def step(ev: Any) -> None:
        before = acd.advance(ev.now)
        w.observe(None, before)
        w.observe(ev, acd.handle(ev))

    step(AgentLoggedIn(now=0, profile=AgentProfile("alice", queues=["sales", "vip"])))
    step(CallArrived(now=1, call_id="c1", queue="sales", attributes={"caller": "+1555"}))
    w.observe(None, acd.advance(6.5))  # rings out after 5 s, offered again at once
    step(OfferAnswered(now=8, call_id="c1", agent_id="alice"))
    step(CallTransferred(now=20, call_id="c1", queue="vip"))
    step(CallArrived(now=21, call_id="c2", queue="sales"))
    step(CallAbandoned(now=30, call_id="c2"))
    step(AgentPaused(now=31, agent_id="alice", reason="lunch"))
    step(AgentResumed(now=32, agent_id="alice"))  # the offer of c1 in vip rang on meanwhile
    step(OfferAnswered(now=33, call_id="c1", agent_id="alice"))
    step(CallEnded(now=90, call_id="c1"))
    step(AgentLoggedOut(now=100, agent_id="alice"))
    lines = out.getvalue().splitlines()
    assert lines == [
        "1700000000|NONE|NONE|NONE|QUEUESTART|",
        "1700000000|agent-alice|NONE|alice|AGENTLOGIN|Agent/alice",
        "1700000000|MANAGER|sales|alice|ADDMEMBER|",
        "1700000000|MANAGER|vip|alice|ADDMEMBER|",
        "1700000001|c1|sales|NONE|ENTERQUEUE||+1555|1",
        "1700000006|c1|sales|alice|RINGNOANSWER|5000",
        "1700000008|c1|sales|alice|CONNECT|7|acd-c1-alice|2",
        "1700000020|c1|sales|alice|BLINDTRANSFER|vip|acdcore|7|12|1",
        "1700000020|c1|vip|NONE|ENTERQUEUE||+1555|1",
        "1700000021|c2|sales|NONE|ENTERQUEUE|||1",
        "1700000030|c2|sales|NONE|ABANDON|1|1|9",
        "1700000031|NONE|sales|alice|PAUSE|lunch",
        "1700000031|NONE|vip|alice|PAUSE|lunch",
        "1700000032|NONE|sales|alice|UNPAUSE|",
        "1700000032|NONE|vip|alice|UNPAUSE|",
        "1700000033|c1|vip|alice|CONNECT|13|acd-c1-alice|13",
        "1700000090|c1|vip|alice|COMPLETECALLER|13|57|1",
        "1700000100|MANAGER|sales|alice|REMOVEMEMBER|",
        "1700000100|MANAGER|vip|alice|REMOVEMEMBER|",
        "1700000100|agent-alice|NONE|alice|AGENTLOGOFF|Agent/alice|100",
    ]
    assert read_queue_log(out.getvalue().encode()).events["CONNECT"] == 2


# ------------------------------------------------------------ the reader


def _read(text: str, **kw: Any) -> Any:
    return read_queue_log(text.encode(), **kw)


def test_the_layouts_of_asterisk_1_4_to_23_are_read() -> None:
    text = (
        "1000|c1|q|NONE|ENTERQUEUE||555\n"  # 1.4: url | callerid
        "1005|c1|q|Agent/1|CONNECT|5|1000.2\n"  # 1.4: no ring time
        "1065|c1|q|Agent/1|COMPLETEAGENT|5|60\n"  # 1.4: no position
        "1100|c2|q|NONE|ENTERQUEUE||556|1|Ann Smith\n"  # 20.14+: caller name
        "1130|c2|q|NONE|EXITWITHTIMEOUT|1\n"  # 1.4: position only
        "1200|c3|q|NONE|ENTERQUEUE||557|1\n"
        "1203|c3|q|Agent/1|RINGNOANSWER|3000\n"
        "1210|c3|q|Agent/2|CONNECT|10|1200.9|7\n"
        "1300|c3|q|Agent/2|TRANSFER|200|default|10|90\n"  # up to 11, no position
        "1400|c4|q|NONE|ENTERQUEUE||558|1\n"
        "1402|c4|q|Agent/1|CONNECT|2|1400.1|2\n"
        "1500|c4|q|Agent/1|ATTENDEDTRANSFER|LINK|SIP/a-1|SIP/b-2|2|98|1\n"  # 6 fields
        "1600|c5|q|NONE|ENTERQUEUE||559|1\n"
        "1610|c5|q|NONE|EXITWITHKEY|5|1\n"  # 1.4 to 11: key | position
        "1700|NONE|NONE|NONE|QUEUESTART|\n"
        "1701|c6|q|NONE|DID|5551000\n"  # written by a dialplan: not Asterisk's
    )
    read = _read(text)
    assert read.skipped == () and read.form == "file"
    rep = report(read)
    q = rep.metrics.queue_stats("q")
    assert (q.offered, q.answered, q.overflowed, q.self_service) == (5, 3, 1, 1)
    assert rep.conversion.unknown == {"DID": 1}
    assert rep.metrics.agent_stats("Agent/1").rona == 1


def test_lines_out_of_order_and_calls_that_never_end() -> None:
    text = (
        "1010|c1|q|a|COMPLETECALLER|5|5|1\n"
        "1000|c1|q|NONE|ENTERQUEUE||1|1\n"
        "1005|c1|q|a|CONNECT|5|x|0\n"
        "1020|c2|q|NONE|ENTERQUEUE||2|1\n"
        "1030|c3|q|a|CONNECT|3|x|1\n"  # c3 entered before the log begins
    )
    rep = report(_read(text))
    q = rep.metrics.queue_stats("q")
    assert (q.offered, q.answered, q.in_queue) == (2, 1, 1)
    assert rep.conversion.unfinished == 1 and rep.conversion.orphans == 1


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("x|c1|q|NONE|ENTERQUEUE||1|1\n", "line 2: time is not a number: 'x'"),
        ("1|c1|q|NONE\n", "line 2: 4 fields, a line has at least 5"),
        ("1|c1|q|a|CONNECT|5\n", "line 2: CONNECT has 1 data fields, expected 2 or 3"),
        ("1|c1|q|a|CONNECT|soon|x|1\n", "line 2: CONNECT field 1 is not a number: 'soon'"),
        ("1|c1|q|a|RINGNOANSWER|\n", "line 2: RINGNOANSWER has 0 data fields, expected 1"),
        ("1|c1|q|a|enterqueue||1|1\n", "line 2: event 'enterqueue' is not an event name"),
        ("1|c1|q|a|ABANDON|1|1|inf\n", "line 2: ABANDON field 3 is not a number"),
        ("1|c1|q\x00|a|ABANDON|1|1|2\n", "line 2: holds NUL bytes"),
    ],
)
def test_strict_mode_names_the_first_bad_line_and_lenient_mode_counts_it(
    text: str, why: str
) -> None:
    good = "1|NONE|NONE|NONE|QUEUESTART|\n"
    with pytest.raises(QueueLogError, match=re.escape(why)):
        _read(good + text + good)
    read = _read(good + text + good, strict=False)
    assert len(read.lines) == 2 and read.skipped[0][0] == 2


def test_a_torn_last_line_and_a_wrong_encoding() -> None:
    text = "1|c1|q|NONE|ENTERQUEUE||1|1\n2|c1|q|NONE|ABAN"
    read = _read(text)  # strict: a torn last line is not an error
    assert len(read.lines) == 1 and "torn last line" in read.warnings[0]
    latin = "1|c1|q|NONE|ENTERQUEUE||Jos\xe9|1\n".encode("latin-1")
    with pytest.raises(QueueLogError, match=r"line 1: not UTF-8 \(byte 0xe9\)"):
        read_queue_log(latin)
    read = read_queue_log(latin, strict=False)
    assert read.lines[0].data[1] == "Jos\xe9" and "Latin-1" in read.warnings[0]
    with pytest.raises(QueueLogError, match="No such file"):
        read_queue_log(DATA / "none.queue_log")


def test_a_realtime_table_export_reads_as_the_file() -> None:
    file_form = (DATA / "asterisk_definitive_guide_3rd_ed.queue_log").read_text()
    rows = ["id,time,callid,queuename,agent,event,data1,data2,data3,data4,data5"]
    for i, line in enumerate(file_form.splitlines()):
        t, callid, queue, agent, event, *data = line.split("|")
        stamp = datetime.fromtimestamp(int(t), tz=UTC).strftime("%Y-%m-%d %H:%M:%S.000000")
        data = [d for d in data] + [""] * (5 - len(data))
        rows.append(",".join([str(i), stamp, callid, queue, agent, event, *data]))
    read = read_queue_log(("\n".join(rows) + "\n").encode())
    assert read.form == "csv"
    from_file = read_queue_log(DATA / "asterisk_definitive_guide_3rd_ed.queue_log")
    assert [(ln.time, ln.event, ln.data) for ln in read.lines] == [
        (ln.time, ln.event, ln.data) for ln in from_file.lines
    ]
    single = "time,callid,queuename,agent,event,data\n1000,c1,q,NONE,ENTERQUEUE,|555|1\n"
    assert read_queue_log(single.encode()).lines[0].data == ("", "555", "1")


# ------------------------------------------------------------ the command


def test_report_on_the_real_samples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(DATA / "asterisk_definitive_guide_3rd_ed.queue_log")]) == 0
    out = capsys.readouterr().out
    assert "7100                   2        2         0  100.0%     2.0  3073.0" in out
    assert "service level: calls answered within 20 s" in out
    assert main(["report", str(DATA / "real_2020_asterisk_box.queue_log"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["queues"]["support"]["abandoned"] == 1
    assert data["queues"]["support"]["longest_wait"] == 68.0
    assert data["unfinished_calls"] == 1  # the sales call, lost at the restart


def test_report_refuses_a_bad_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.queue_log"
    bad.write_bytes(b"1|c1|q|a|CONNECT|5\n")
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 1: CONNECT has 1 data fields" in err
    assert main(["report", str(bad), "--lenient"]) == 0
    assert "skipped line 1" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_a_journal_becomes_the_same_queue_log(tmp_path: Path) -> None:
    """From a journal file, the lines the live writer wrote."""
    from acdcore.journal import JournalWriter, read_journal
    from acdcore.queuelog import write_journal

    scenario = Scenario.load(EXAMPLES / "small_team.toml")
    steps: list[Any] = []
    run_replication(scenario, random.Random(3), journal=steps)
    live = io.StringIO()
    writer = QueueLogWriter(live, epoch=1_700_000_000)
    with JournalWriter(tmp_path / "j.jsonl", flush=1000) as journal:
        for what, actions in steps:
            event = None if isinstance(what, float) else what
            writer.observe(event, actions)
            if event is None:
                journal.advance(what, actions)
            else:
                journal.event(event, actions)
    again = io.StringIO()
    entries = read_journal(tmp_path / "j.jsonl").entries
    assert write_journal(entries, again, epoch=1_700_000_000) == writer.lines > 100
    assert again.getvalue() == live.getvalue()
