"""A rising block rate is an alert: a monitor of source ``guard`` runs the ``guard-block-rate`` check on its windows
and opens (and resolves) alerts through the monitoring alerts; and the check's false alarms on a stationary stream
are measured (the rule: a one-sided Wilson bound above the ceiling, or a significant rise by the factor)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from assay.errors import InvalidInput
from assay.metrics.guard_rate import block_rate_check
from assay.services.monitors import window_at
from assay.services.workspace import Workspace
from tests.support.guard import WORDS, use_words_check


def test_a_monitor_of_a_guardrail_alerts_when_its_block_rate_rises(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_words_check(monkeypatch)
    ws = workspace
    ws.systems.create({"name": "helpdesk", "eu_ai_act_category": "minimal", "generative": True,
                       "disclosure": "An AI answers."})  # fmt: skip
    ws.models.register_version("helpdesk", {"model": "llm", "version": "1"})
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    guardrail = ws.genai.guard.guardrail("support-bot")
    blocked, passed = guardrail.apply("INPUT", "project falcon"), guardrail.apply("INPUT", "hello")
    end = window_at(dt.datetime.now(dt.UTC), 3600)[1] - dt.timedelta(hours=1)
    rng = np.random.default_rng(16)
    for hours, rate in ((4, 0.05), (3, 0.05), (2, 0.30), (1, 0.05)):  # steady, steady, a rise, back
        start = end - dt.timedelta(hours=hours)
        for k in range(200):
            result = blocked if rng.random() < rate else passed
            ws.genai.guard.record(result, channel="proxy", at=start + dt.timedelta(seconds=17 * k + 1))
    ws.monitors.create("helpdesk", {
        "name": "blocks", "model_version": "llm@1", "source": {"type": "guard", "policy": "support-bot"},
        "window": "1h", "checks": [{"kind": "guard-block-rate", "options": {"max_rate": 0.15, "factor": 2}}],
    })  # fmt: skip
    runs = [ws.monitors.run("helpdesk", "blocks", end=end - dt.timedelta(hours=h - 1)) for h in (3, 2, 1)]
    assert [r.status for r in runs] == ["ok", "violations", "ok"] and [r.rows for r in runs] == [400, 400, 400]
    failed = runs[1].results[0]
    assert {v["check_type"] for v in failed["violations"]} == {"guard_block_rate", "guard_block_rate_rise"}
    document = ws.assessments.get("helpdesk", failed["assessment_id"]).document
    assert document["schema"] == "assay.guard-block-rate" and document["decisions"] == 200
    assert document["previous"]["decisions"] == 200
    alerts = ws.alerts.list("helpdesk")
    assert {(a.kind, a.subject, a.status) for a in alerts} == {
        ("guard-block-rate", "block_rate", "resolved"),
        ("guard-block-rate", "block_rate_rise", "resolved"),
    }
    check = ws.genai.guard.check_block_rate("support-bot", window=3600, max_rate=0.15, factor=2,
                                            end=end - dt.timedelta(hours=1))  # fmt: skip
    assert (check["status"], check["blocked"], check["decisions"]) == ("fail", document["blocked"], 200)
    with pytest.raises(InvalidInput, match="a guard source needs a policy"):
        ws.monitors.create("helpdesk", {
            "name": "x", "model_version": "llm@1", "source": {"type": "guard"},
            "checks": [{"kind": "guard-block-rate", "options": {"max_rate": 0.1}}],
        })  # fmt: skip
    assert ws.audit.verify().ok and ws.genai.guard.verify().ok


def _alarms(rng: np.random.Generator, rate: float, n: int, windows: int, **options: float) -> float:
    blocked = rng.binomial(n, rate, size=windows + 1)
    fired = sum(
        block_rate_check((int(blocked[i]), n), (int(blocked[i - 1]), n), **options)["status"] == "fail"  # type: ignore[arg-type]
        for i in range(1, windows + 1)
    )
    return fired / windows


def test_false_alarms_on_a_stationary_stream_stay_below_alpha() -> None:
    """2,000 windows of 500 decisions each at a steady block rate: the share of windows that alarm. At the ceiling
    itself (the worst case of the ceiling test) the share stays near alpha; below it and for the rise test, far
    below; a real rise is found."""
    rng = np.random.default_rng(20261206)
    alpha = 0.01
    at_ceiling = _alarms(rng, 0.10, 500, 2000, max_rate=0.10, alpha=alpha)
    below = _alarms(rng, 0.05, 500, 2000, max_rate=0.10, alpha=alpha)
    rise_only = _alarms(rng, 0.05, 500, 2000, factor=1.5, alpha=alpha)
    both = _alarms(rng, 0.05, 500, 2000, max_rate=0.10, factor=1.5, alpha=alpha)
    # 2,000 windows: a share near 0.01 is measured to about +-0.002, hence the margin of half alpha
    # measured (this seed): below 0.0, at the ceiling 0.0115, rise 0.0045, both 0.0105 (docs/guardrails.md)
    assert below == 0.0 and max(at_ceiling, rise_only, both) <= 1.5 * alpha
    risen = rng.binomial(500, 0.12, size=200)
    steady = rng.binomial(500, 0.05, size=200)
    found = np.mean([block_rate_check((int(r), 500), (int(s), 500), factor=1.5, alpha=alpha)["status"] == "fail"
                     for r, s in zip(risen, steady, strict=True)])  # fmt: skip
    assert found >= 0.95, found  # a rise from 5 % to 12 % is found in (nearly) every window
