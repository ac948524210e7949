"""Alerts from monitor runs: opened, updated and resolved per violation key; de-duplicated across windows; rate
limited; announced to a real webhook receiver (signature checked) and a real SMTP server; the incident and the
retraining request opened and linked to the evidence; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from assay.errors import Conflict, InvalidInput
from assay.governance.alerting import alerting_settings
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from assay.store.models import Alert, utcnow
from tests.support.monitoring import check, make_monitor, record_run
from tests.support.receivers import smtp_server, webhook_receiver

DOC: dict[str, Any] = {"schema": "assay.assessment", "schema_version": 1, "spec": {"predicted": "p"}, "data": {}}


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create({"name": "release", "eu_ai_act_category": "minimal"})
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    workspace.settings = workspace.settings.model_copy(update={"alert_backoff": 0.0, "alert_timeout": 5.0})
    return workspace


def fail(*subjects: str, assessment_id: int | None = None) -> dict[str, Any]:
    return check("drift", "fail", [(s, 0.4) for s in subjects], assessment_id=assessment_id)


def events(ws: Workspace, action: str) -> list[Any]:
    return list(ws.audit.log(EventFilter(action=action)))


def test_settings_errors_name_the_key() -> None:
    with pytest.raises(InvalidInput, match=r"webhooks\.0\.url: .*not an http\(s\) URL"):
        alerting_settings({"webhooks": [{"url": "ftp://example.org/x"}]})
    with pytest.raises(InvalidInput, match="emails: is not a known field"):
        alerting_settings({"emails": ["a@example.org"]})
    with pytest.raises(InvalidInput, match=r"email\.1: .*'not an address' is not an e-mail address"):
        alerting_settings({"email": ["a@example.org", "not an address"]})
    with pytest.raises(InvalidInput, match="renotify_minutes"):
        alerting_settings({"renotify_minutes": 1})
    with pytest.raises(InvalidInput, match=r"incident\.severity"):
        alerting_settings({"incident": {"severity": "dire"}})
    with pytest.raises(InvalidInput, match=r"webhooks\.0\.secret_ref: is set by Assay"):
        alerting_settings({"webhooks": [{"url": "https://example.org", "secret_ref": "mine"}]})
    with pytest.raises(InvalidInput, match=r"webhooks\.0\.secret_env: 'A-B' is not an environment variable name"):
        alerting_settings({"webhooks": [{"url": "https://example.org", "secret_env": "A-B"}]})
    defaults = alerting_settings(None)
    assert defaults.log and not defaults.webhooks and defaults.renotify_minutes == 1440


def test_generated_secret_is_kept_in_the_workspace_not_the_database(ws: Workspace) -> None:
    monitor = make_monitor(ws, "release", "lr@1", alerting={"webhooks": [{"url": "https://hooks.example.org/a"}]})
    secret = monitor.secrets["https://hooks.example.org/a"]  # type: ignore[attr-defined]
    ref = monitor.alerting["webhooks"][0]["secret_ref"]
    path = ws.home / "keys" / "webhooks" / ref
    assert path.read_text() == secret and path.stat().st_mode & 0o777 == 0o600
    assert secret not in str(monitor.alerting)
    assert all(secret not in str(e.payload) for e in ws.audit.log())


def test_one_alert_per_violation_across_windows_resolved_by_a_passing_window(ws: Workspace) -> None:
    assessment = ws.assessments.record("release", DOC, model_version="lr@1")
    with webhook_receiver() as hook:
        monitor = make_monitor(ws, "release", "lr@1", alerting={"webhooks": [{"url": hook.url}]})
        hook.secret = monitor.secrets[hook.url].encode()  # type: ignore[attr-defined]

        _, pending = record_run(ws, monitor, 0, [fail("age", assessment_id=assessment.id)])
        assert [p.event for p in pending] == ["open"]
        delivered = ws.alerts.deliver(pending)
        assert [d.status for d in delivered] == ["sent"]
        (alert,) = ws.alerts.list("release")
        assert (alert.status, alert.occurrences, alert.kind, alert.subject) == ("open", 1, "drift", "age")
        assert alert.key == f"{monitor.id}:drift:age" and alert.assessment_ids == [assessment.id]

        # the same violation in the next windows: the same alert, updated, and no new notification
        for day in (1, 2):
            run, pending = record_run(ws, monitor, day, [fail("age")])
            assert pending == []
        (alert,) = ws.alerts.list("release")
        assert alert.occurrences == 3 and alert.last_run_id == run.id

        # a window that could not be judged (warn) and a failed run resolve nothing
        assert record_run(ws, monitor, 3, [check("drift", "warn")])[1] == []
        assert record_run(ws, monitor, 4, [], status="failed")[1] == []
        assert ws.alerts.list("release")[0].status == "open"

        # a passing window resolves it, announced once
        _, pending = record_run(ws, monitor, 5, [check("drift", "pass")])
        assert [p.event for p in pending] == ["resolve"]
        assert [d.status for d in ws.alerts.deliver(pending)] == ["sent"]
        assert ws.alerts.deliver(pending)[0].status == "skipped"  # delivered twice: sent once
        resolved = ws.alerts.get("release", alert.id)
        assert resolved.status == "resolved" and resolved.resolved_at is not None

        assert [m["event"] for m in hook.messages] == ["open", "resolve"] and not hook.refused
        first = hook.messages[0]
        assert first["alert"]["subject"] == "age" and first["system"] == "release"
        assert first["model_version"] == "lr@1" and first["monitor"]["name"] == "daily"
        assert first["alert"]["assessment_ids"] == [assessment.id]

        # the violation back: a new alert
        _, pending = record_run(ws, monitor, 6, [fail("age")])
        assert [p.event for p in pending] == ["open"] and len(ws.alerts.list("release")) == 2
    assert [e.action for e in events(ws, "alert.open")] == ["alert.open", "alert.open"]
    assert len(events(ws, "alert.update")) == 2 and len(events(ws, "alert.resolve")) == 1
    assert len(events(ws, "alert.notify")) == 2
    assert ws.audit.verify().ok


def test_a_failing_window_resolves_the_subjects_that_cleared(ws: Workspace) -> None:
    monitor = make_monitor(ws, "release", "lr@1")
    record_run(ws, monitor, 0, [fail("age", "income"), check("model-quality", "fail", [("accuracy", 0.6)])])
    _, pending = record_run(ws, monitor, 1, [fail("income")])  # drift judged; model-quality not run this time
    assert [p.event for p in pending] == ["open"]  # income's first notification is still due (none was delivered)
    statuses = {a.subject: a.status for a in ws.alerts.list("release")}
    assert statuses == {"age": "resolved", "income": "open", "accuracy": "open"}


def test_resolution_announced_only_for_an_announced_alert(ws: Workspace) -> None:
    monitor = make_monitor(ws, "release", "lr@1")  # the log only
    _, pending = record_run(ws, monitor, 0, [fail("age")])
    assert [d.status for d in ws.alerts.deliver(pending)] == ["sent"]
    _, pending = record_run(ws, monitor, 1, [check("drift", "pass")])
    assert [p.event for p in pending] == ["resolve"]


def test_reminder_after_the_renotify_interval_not_while_acknowledged(ws: Workspace) -> None:
    monitor = make_monitor(ws, "release", "lr@1", alerting={"renotify_minutes": 60})
    _, pending = record_run(ws, monitor, 0, [fail("age")])
    ws.alerts.deliver(pending)
    alert = ws.alerts.list("release")[0]
    assert record_run(ws, monitor, 1, [fail("age")])[1] == []  # within the hour
    backdate(ws, alert.id, utcnow() - dt.timedelta(minutes=61))
    _, pending = record_run(ws, monitor, 2, [fail("age")])
    assert [p.event for p in pending] == ["reminder"]
    assert [d.status for d in ws.alerts.deliver(pending)] == ["sent"]
    assert record_run(ws, monitor, 3, [fail("age")])[1] == []  # reminded just now
    ws.alerts.acknowledge("release", alert.id, note="on it")
    backdate(ws, alert.id, utcnow() - dt.timedelta(minutes=61))
    assert record_run(ws, monitor, 4, [fail("age")])[1] == []  # acknowledged: no reminders
    assert ws.alerts.get("release", alert.id).status == "acknowledged"
    _, pending = record_run(ws, monitor, 5, [check("drift", "pass")])
    assert [p.event for p in pending] == ["resolve"]  # its resolution is still announced


def backdate(ws: Workspace, alert_id: int, when: dt.datetime) -> None:
    """As if the alert's last notification had been sent at ``when`` (an audited change, so the ledger verifies)."""
    with ws.store.write("test") as tx:
        alert = tx.session.get(Alert, alert_id)
        assert alert is not None
        before = alert.state()
        alert.notified_at = when
        tx.record("test.backdate", alert, before=before, payload={"notified_at": when.isoformat()})


def test_rate_limit_per_monitor(ws: Workspace) -> None:
    with webhook_receiver() as hook:
        monitor = make_monitor(
            ws, "release", "lr@1", alerting={"webhooks": [{"url": hook.url}], "rate_limit_per_hour": 2}
        )
        hook.secret = monitor.secrets[hook.url].encode()  # type: ignore[attr-defined]
        _, pending = record_run(ws, monitor, 0, [fail("a", "b", "c", "d")])
        assert len(pending) == 4
        assert [d.status for d in ws.alerts.deliver(pending)] == ["sent", "sent", "suppressed", "suppressed"]
        assert len(hook.messages) == 2
        # the next window: the two announced are de-duplicated; the two suppressed are due, still over the limit
        _, pending = record_run(ws, monitor, 1, [fail("a", "b", "c", "d")])
        assert [p.event for p in pending] == ["open", "open"]
        assert [d.status for d in ws.alerts.deliver(pending)] == ["suppressed", "suppressed"]
        # an hour later the limit has room again: the two still due are sent
        for alert in ws.alerts.list("release"):
            if alert.notified_at is not None:
                backdate(ws, alert.id, utcnow() - dt.timedelta(minutes=61))
        _, pending = record_run(ws, monitor, 2, [fail("a", "b", "c", "d")])
        assert [d.status for d in ws.alerts.deliver(pending)] == ["sent", "sent"]
        assert sorted(m["alert"]["subject"] for m in hook.messages) == ["a", "b", "c", "d"]
    assert len(events(ws, "alert.suppress")) == 4
    assert ws.audit.verify().ok


def test_incident_and_retraining_request_opened_and_linked_to_the_evidence(ws: Workspace) -> None:
    first = ws.assessments.record("release", DOC, model_version="lr@1")
    second = ws.assessments.record("release", DOC, model_version="lr@1")
    monitor = make_monitor(
        ws, "release", "lr@1", alerting={"incident": {"severity": "high"}, "retraining": True, "log": False}
    )
    run, _ = record_run(
        ws,
        monitor,
        0,
        [
            fail("age", assessment_id=first.id),
            check("model-quality", "fail", [("accuracy", 0.61)], assessment_id=second.id),
        ],
    )
    alerts = ws.alerts.list("release")
    assert len(alerts) == 2 and len({a.incident_id for a in alerts}) == 1 and alerts[0].incident_id is not None
    incident = ws.incidents.detail("release", alerts[0].incident_id)
    assert incident.incident.severity == "high" and incident.model_version == "lr@1"
    assert "2 violations" in incident.incident.title and f"assessments {first.id}, {second.id}" in (
        incident.incident.description
    )
    (request,) = ws.alerts.retraining("release")
    assert request.status == "open" and request.alert_id in {a.id for a in alerts}
    assert request.assessment_ids == [first.id, second.id] and request.model_version_id == monitor.model_version_id
    created = events(ws, "incident.create")[0]
    assert created.payload["monitor"] == "daily" and created.payload["run"] == run.id

    # a new violation while those are open: the same incident, no second retraining request
    record_run(ws, monitor, 1, [fail("age", "income")])
    newest = ws.alerts.list("release")[0]
    assert newest.subject == "income" and newest.incident_id == alerts[0].incident_id
    assert len(ws.alerts.retraining("release")) == 1 and len(ws.incidents.list("release")) == 1

    # closing the request: done by a new version, or declined with a reason
    with pytest.raises(InvalidInput, match="needs a reason"):
        ws.alerts.close_retraining("release", request.id, status="declined")
    with pytest.raises(InvalidInput, match="is the version to be retrained"):
        ws.alerts.close_retraining("release", request.id, status="done", version="lr@1")
    ws.models.register_version("release", {"model": "lr", "version": "2", "parent": "lr@1"})
    closed = ws.alerts.close_retraining("release", request.id, status="done", version="lr@2")
    assert closed.status == "done" and closed.resolved_by_version_id is not None
    with pytest.raises(Conflict, match="done already"):
        ws.alerts.close_retraining("release", request.id, status="declined", resolution="x")
    assert ws.audit.verify().ok


def test_email_over_smtp(ws: Workspace) -> None:
    with smtp_server() as box:
        ws.settings = ws.settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": box.port, "smtp_starttls": False, "smtp_from": "a@x.org"}
        )
        monitor = make_monitor(ws, "release", "lr@1", alerting={"email": ["oncall@example.org", "ml@example.org"]})
        _, pending = record_run(ws, monitor, 0, [fail("age")])
        (delivery,) = ws.alerts.deliver(pending)
        assert delivery.status == "sent", delivery
        ((sender, recipients, mail),) = box.mail
        assert sender == "a@x.org" and recipients == ["oncall@example.org", "ml@example.org"]
        assert mail["Subject"] == "[Assay warning] release / daily: drift age violation"
        body = mail.get_payload(decode=True)
        assert isinstance(body, bytes) and b"age drifted (value 0.4, threshold 0.2)" in body


def test_smtp_unreachable_or_unset_is_recorded_not_raised(ws: Workspace) -> None:
    monitor = make_monitor(ws, "release", "lr@1", alerting={"email": ["oncall@example.org"]})
    _, pending = record_run(ws, monitor, 0, [fail("age")])
    (delivery,) = ws.alerts.deliver(pending)  # ASSAY_SMTP_HOST not set
    assert delivery.status == "failed" and "ASSAY_SMTP_HOST is not set" in str(delivery.channels[-1].error)
    recorded = events(ws, "alert.delivery")[-1].payload["channels"]
    assert recorded[0]["ok"] is False and "ASSAY_SMTP_HOST" in recorded[0]["error"]


def test_webhook_retried_then_recorded(ws: Workspace) -> None:
    with webhook_receiver(fail_first=2) as hook:
        monitor = make_monitor(ws, "release", "lr@1", alerting={"webhooks": [{"url": hook.url}]})
        hook.secret = monitor.secrets[hook.url].encode()  # type: ignore[attr-defined]
        _, pending = record_run(ws, monitor, 0, [fail("age")])
        (delivery,) = ws.alerts.deliver(pending)
        assert delivery.status == "sent" and delivery.channels[-1].attempts == 3 and len(hook.messages) == 1
    with webhook_receiver(fail_first=99) as hook:
        monitor = make_monitor(ws, "release", "lr@1", name="other", alerting={"webhooks": [{"url": hook.url}]})
        _, pending = record_run(ws, monitor, 0, [fail("age")])
        (delivery,) = ws.alerts.deliver(pending)
        assert delivery.status == "failed" and hook.requests == 3  # ASSAY_ALERT_ATTEMPTS
        assert "HTTP Error 500" in str(delivery.channels[-1].error)
    recorded = events(ws, "alert.delivery")[-1].payload["channels"][0]
    assert recorded["attempts"] == 3 and recorded["ok"] is False


def test_webhook_secret_from_the_environment(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_receiver(secret=b"from the environment") as hook:
        monitor = make_monitor(
            ws, "release", "lr@1", alerting={"webhooks": [{"url": hook.url, "secret_env": "HOOK_SECRET"}]}
        )
        assert monitor.secrets == {}  # type: ignore[attr-defined]
        _, pending = record_run(ws, monitor, 0, [fail("age")])
        (delivery,) = ws.alerts.deliver(pending)
        assert delivery.status == "failed" and "HOOK_SECRET" in str(delivery.channels[-1].error)
        assert hook.requests == 0
        monkeypatch.setenv("HOOK_SECRET", "from the environment")
        monkeypatch.setenv("OTHER", "wrong secret")
        _, pending = record_run(ws, monitor, 1, [fail("age", "income")])  # age persists: announced already
        assert [d.status for d in ws.alerts.deliver(pending)] == ["sent"] and len(hook.messages) == 1
        wrong = make_monitor(
            ws, "release", "lr@1", name="wrong", alerting={"webhooks": [{"url": hook.url, "secret_env": "OTHER"}]}
        )
        _, pending = record_run(ws, wrong, 0, [fail("age")])
        assert ws.alerts.deliver(pending)[0].status == "failed"  # the receiver refuses a bad signature (401)
        assert hook.refused == ["bad signature"]


def test_acknowledge_and_resolve_by_hand(ws: Workspace) -> None:
    monitor = make_monitor(ws, "release", "lr@1")
    record_run(ws, monitor, 0, [fail("age")])
    alert = ws.alerts.list("release", status="open")[0]
    assert ws.alerts.acknowledge("release", alert.id).status == "acknowledged"
    with pytest.raises(Conflict, match="acknowledged already"):
        ws.alerts.acknowledge("release", alert.id)
    assert ws.alerts.resolve("release", alert.id, note="fixed upstream").status == "resolved"
    with pytest.raises(Conflict, match="resolved already"):
        ws.alerts.resolve("release", alert.id)
    with pytest.raises(InvalidInput, match="alert status 'gone' is not one of"):
        ws.alerts.list("release", status="gone")
    assert ws.alerts.list("release", monitor="daily")[0].id == alert.id
    assert ws.alerts.list("release", monitor="nope") == []
    event = events(ws, "alert.resolve")[-1]
    assert event.payload["by"] == "hand" and event.payload["note"] == "fixed upstream"


def test_cli_alerts_and_retraining(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from assay.cli import main

    monitor = make_monitor(ws, "release", "lr@1", alerting={"retraining": True})
    record_run(ws, monitor, 0, [fail("age")])
    root = ["--workspace", str(ws.root), "--actor", "alice"]
    assert main([*root, "alert", "list", "release", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["subject"] == "age" and listed["status"] == "open"
    assert main([*root, "alert", "acknowledge", "release", str(listed["id"]), "--note", "mine"]) == 0
    assert "is acknowledged" in capsys.readouterr().out
    assert main([*root, "alert", "show", "release", "99"]) == 2
    assert "no alert of 'release' with id 99" in capsys.readouterr().err
    assert main([*root, "retraining", "list", "release", "--json"]) == 0
    (request,) = json.loads(capsys.readouterr().out)
    close = [*root, "retraining", "close", "release", str(request["id"])]
    assert main([*close, "--status", "declined"]) == 2
    assert "needs a reason" in capsys.readouterr().err
    assert main([*close, "--status", "declined", "--resolution", "seasonal"]) == 0
    assert "is declined" in capsys.readouterr().out
