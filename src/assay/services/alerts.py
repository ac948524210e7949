"""Alerts of the monitors: opened, updated and resolved with the monitor's runs, announced on the channels a monitor's
``alerting`` names (:mod:`assay.governance.alerting`), and the retraining requests they open.

Two halves, so that sending never holds (or fails) the transaction that records a run:

- :func:`evaluate` runs **inside** the monitor service's transaction that records a run. Per violation key
  (monitor, check kind, subject) it opens an alert or updates the open one (occurrences, last run, evidence);
  it resolves the open alerts of a check kind whose window was judged (check status ``pass`` or ``fail``) and whose
  key no longer fails (a ``warn`` check or a failed run resolves nothing). New alerts open an incident and a
  retraining request when the monitor says so, linked to the alert and to the run's assessments (the evidence),
  and name the version to roll back to when the monitor recommends it. Every change is an audit event. It returns
  what is to be announced (:class:`Pending`): an opened alert, a reminder once the re-notify interval has passed,
  a resolution.
- :meth:`Alerts.deliver`, **after** the commit: each notification is claimed in a short write transaction (so
  two processes never send the same one; de-duplication and the monitor's rate limit are checked there), sent to
  the log, the webhooks (JSON, ``X-Assay-Signature: sha256=<HMAC-SHA256 of the body>``) and by e-mail (SMTP) with
  a bounded number of attempts each, and the outcome of every channel is recorded (``alert.delivery``). It never
  raises: a delivery failure is recorded and logged, never the monitor run's failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import smtplib
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import func, select

from assay._version import __version__
from assay.errors import Conflict, InvalidInput
from assay.governance.alerting import (
    ALERT_STATUSES,
    RETRAINING_STATUSES,
    AlertingSettings,
    Webhook,
    alerting_settings,
)
from assay.governance.records import IncidentSpec, choice
from assay.services import _lookup
from assay.services._base import Listing, Service, listing
from assay.services.incidents import open_incident
from assay.services.registry import previous_approved
from assay.store.artifacts import private_folder
from assay.store.models import (
    Alert,
    AuditEvent,
    Incident,
    Model,
    ModelVersion,
    Monitor,
    MonitorRun,
    RetrainingRequest,
    System,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.config import Settings
    from assay.store.database import Transaction

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Alerts",
    "ChannelResult",
    "Delivery",
    "MonitorState",
    "Pending",
    "Snapshot",
    "evaluate",
    "send_mail",
    "sign",
]

log = logging.getLogger("assay.alerts")

SIGNATURE_HEADER: Final = "X-Assay-Signature"
TIMESTAMP_HEADER: Final = "X-Assay-Timestamp"
SCHEMA: Final = "assay.alert/1"
NOTICE_SCHEMA: Final = "assay.notice/1"  # a notice outside a monitor's windows (the kill switch)
_SECRETS: Final = ("keys", "webhooks")  # under .assay/: the generated webhook secrets, one file each, 0600
_KEY_MAX: Final = 300
_DESCRIPTION_MAX: Final = 4000
_EVIDENCE_MAX: Final = 50  # assessment ids kept per alert (the newest)
_RETRYABLE_HTTP: Final = frozenset({408, 425, 429, 500, 502, 503, 504})

Event = Literal["open", "reminder", "resolve"]


@dataclass(frozen=True)
class Pending:
    """A notification :func:`evaluate` found due: ``event`` of alert ``alert_id`` (given to :meth:`Alerts.deliver`
    after the transaction commits)."""

    alert_id: int
    monitor_id: int
    event: Event


@dataclass(frozen=True)
class ChannelResult:
    channel: Literal["log", "webhook", "email"]
    target: str  # the URL, the recipients, the logger
    ok: bool
    attempts: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "target": self.target, "ok": self.ok, "attempts": self.attempts,
                "error": self.error}  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    """What became of one :class:`Pending`: ``sent`` (every channel), ``partial``, ``failed`` (no channel but the
    log), ``suppressed`` (the monitor's rate limit; logged only), ``skipped`` (no longer due: already sent, or the
    alert changed since)."""

    alert_id: int
    event: Event
    status: Literal["sent", "partial", "failed", "suppressed", "skipped"]
    channels: list[ChannelResult] = field(default_factory=list)
    message: dict[str, Any] | None = None


@dataclass(frozen=True)
class MonitorState:
    """A monitor as /metrics shows it: its last run, and the metrics of its last run that has results."""

    system: str
    model_version: str
    monitor: str
    last_run_at: dt.datetime | None
    last_window_end: dt.datetime | None
    last_status: str | None
    metrics: list[tuple[str, str, str, float]]  # (kind, metric, subject, value)


@dataclass(frozen=True)
class Snapshot:
    """What /metrics reads at scrape time: the monitors, the open alerts by (system, severity, status), and whether
    the series were cut at the limit."""

    monitors: list[MonitorState]
    alerts: list[tuple[str, str, str, int]]
    series: int
    truncated: bool


# -- the transaction-level half: called by the monitor service while it records a run ----------------------------


def alert_key(monitor_id: int, kind: str, subject: str) -> str:
    """The de-duplication key of a violation: monitor, check kind and subject (hashed when too long to store)."""
    key = f"{monitor_id}:{kind}:{subject}"
    if len(key) <= _KEY_MAX:
        return key
    return f"{monitor_id}:{kind}:sha256:{hashlib.sha256(subject.encode()).hexdigest()}"


def _describe(violation: Mapping[str, Any]) -> str:
    text = str(violation.get("description") or violation.get("check_type") or "violation")
    extra = []
    if violation.get("value") is not None:
        extra.append(f"value {violation['value']}")
    if violation.get("threshold") is not None:
        extra.append(f"threshold {violation['threshold']}")
    return f"{text} ({', '.join(extra)})" if extra else text


@dataclass
class _Failing:
    kind: str
    subject: str
    lines: list[str] = field(default_factory=list)
    assessment_ids: list[int] = field(default_factory=list)

    @property
    def description(self) -> str:
        return "; ".join(self.lines)[:_DESCRIPTION_MAX]


def _judged(run: MonitorRun) -> tuple[set[str], dict[str, _Failing]]:
    """The check kinds the run judged (status pass or fail) and its failing keys."""
    judged: set[str] = set()
    failing: dict[str, _Failing] = {}
    if run.status == "failed":
        return judged, failing  # a run that failed judged nothing
    for result in run.results or []:
        kind, status = str(result.get("kind", "")), result.get("status")
        if status not in ("pass", "fail") or not kind:
            continue  # warn: not enough data to judge
        judged.add(kind)
        if status != "fail":
            continue
        assessment = result.get("assessment_id")
        violations = result.get("violations") or [{"subject": "", "description": f"the {kind} check failed"}]
        for violation in violations:
            subject = str(violation.get("subject") or "")[:_KEY_MAX]
            entry = failing.setdefault(alert_key(run.monitor_id, kind, subject), _Failing(kind, subject))
            entry.lines.append(_describe(violation))
            if isinstance(assessment, int) and assessment not in entry.assessment_ids:
                entry.assessment_ids.append(assessment)
    return judged, failing


def _version_ref(session: Session, version_id: int) -> tuple[ModelVersion, str]:
    version = session.get(ModelVersion, version_id)
    assert version is not None
    model = session.get(Model, version.model_id)
    return version, f"{model.name if model else '?'}@{version.version}"


def _rollback_note(session: Session, owner: System, version: ModelVersion, ref: str) -> tuple[str | None, str]:
    """The version a rollback would go back to (None: none), and the sentence the alert carries."""
    if version.stage != "production":
        return None, f"Rollback not applicable: {ref} is not in production (it is in {version.stage})."
    found = previous_approved(session, version)
    if found is None:
        return None, f"Rollback recommended, but no previous approved version of {ref.split('@')[0]} stands."
    target = f"{ref.split('@')[0]}@{found[0].version}"
    return target, (
        f"Rollback recommended to {target} (approval request {found[1].id}): `assay model rollback {owner.name} "
        f"--reason TEXT` (an approver decides; Assay never rolls back by itself)."
    )


def _is_due(alert: Alert, event: Event, settings: AlertingSettings, now: dt.datetime) -> bool:
    if event == "resolve":
        return (
            alert.status == "resolved"
            and alert.notified_at is not None
            and (alert.resolved_at is None or alert.notified_at < alert.resolved_at)
        )
    if alert.status != "open":
        return False  # acknowledged: a person has it; no reminders
    if event == "open":
        return alert.notified_at is None
    interval = settings.renotify_minutes
    return (
        interval is not None
        and alert.notified_at is not None
        and now - alert.notified_at >= dt.timedelta(minutes=interval)
    )


def evaluate(tx: Transaction, monitor: Monitor, run: MonitorRun) -> list[Pending]:
    """Open, update and resolve the alerts of ``monitor`` from ``run`` (recorded, flushed, in ``tx``); open the
    incident and the retraining request the monitor's alerting asks for. Returns the notifications now due, for
    :meth:`Alerts.deliver` once ``tx`` has committed. Evaluating the same run again changes nothing."""
    settings = alerting_settings(monitor.alerting)
    session = tx.session
    tx.session.flush()
    owner = session.get(System, monitor.system_id)
    assert owner is not None
    judged, failing = _judged(run)
    current = {
        alert.key: alert
        for alert in session.execute(
            select(Alert).where(Alert.monitor_id == monitor.id, Alert.status != "resolved").order_by(Alert.id)
        ).scalars()
    }
    now = utcnow()
    pending: list[Pending] = []
    version, ref = _version_ref(session, monitor.model_version_id)
    common = {"system": owner.name, "monitor": monitor.name, "run": run.id}

    # violations that persist: one alert per key, updated
    for key, entry in failing.items():
        alert = current.get(key)
        if alert is None or alert.last_run_id == run.id:
            continue
        before = alert.state()
        alert.occurrences += 1
        alert.last_run_id = run.id
        alert.description = entry.description
        alert.assessment_ids = [*alert.assessment_ids, *entry.assessment_ids][-_EVIDENCE_MAX:]
        alert.updated_at = now
        tx.record("alert.update", alert, before=before, payload={**common, "occurrences": alert.occurrences})
        if _is_due(alert, "open", settings, now):
            pending.append(Pending(alert.id, monitor.id, "open"))  # its first notification was not sent
        elif _is_due(alert, "reminder", settings, now):
            pending.append(Pending(alert.id, monitor.id, "reminder"))

    # violations that cleared in a judged window
    for key, alert in current.items():
        if key in failing or alert.kind not in judged:
            continue
        before = alert.state()
        alert.status, alert.resolved_at, alert.updated_at = "resolved", now, now
        tx.record("alert.resolve", alert, before=before, payload={**common, "by": "monitor"})
        if _is_due(alert, "resolve", settings, now):
            pending.append(Pending(alert.id, monitor.id, "resolve"))

    # new violations: alerts, with the incident, the retraining request and the rollback recommendation
    new = {key: entry for key, entry in failing.items() if key not in current}
    if not new:
        return pending
    rollback_to, rollback_line = (None, "")
    if settings.recommend_rollback:
        rollback_to, rollback_line = _rollback_note(session, owner, version, ref)
    evidence = sorted({i for entry in new.values() for i in entry.assessment_ids})
    incident = (
        _incident_for(tx, settings, owner, monitor, run, version, ref, new, evidence) if settings.incident else None
    )
    opened: list[Alert] = []
    for key, entry in new.items():
        description = entry.description + (f" {rollback_line}" if rollback_line else "")
        alert = Alert(
            monitor_id=monitor.id,
            system_id=owner.id,
            key=key,
            kind=entry.kind,
            subject=entry.subject,
            severity=settings.severity,
            status="open",
            description=description[:_DESCRIPTION_MAX],
            first_run_id=run.id,
            last_run_id=run.id,
            occurrences=1,
            incident_id=None if incident is None else incident.id,
            assessment_ids=entry.assessment_ids,
            rollback_to=rollback_to,
            created_at=now,
            updated_at=now,
        )
        session.add(alert)
        tx.record(
            "alert.open",
            alert,
            before=None,
            payload={**common, "kind": entry.kind, "subject": entry.subject, "severity": settings.severity,
                     "incident": alert.incident_id, "assessments": entry.assessment_ids, "rollback_to": rollback_to},
        )  # fmt: skip
        opened.append(alert)
        pending.append(Pending(alert.id, monitor.id, "open"))
    if settings.retraining:
        _retraining_for(tx, owner, monitor, run, version, ref, opened, evidence)
    return pending


def _incident_for(
    tx: Transaction,
    settings: AlertingSettings,
    owner: System,
    monitor: Monitor,
    run: MonitorRun,
    version: ModelVersion,
    ref: str,
    new: Mapping[str, _Failing],
    evidence: list[int],
) -> Incident:
    """The incident the new alerts belong to: the one still open that an open alert of the monitor belongs to, or a
    new one (one incident per spell of violations, not one per column)."""
    assert settings.incident is not None
    existing = tx.session.execute(
        select(Incident)
        .join(Alert, Alert.incident_id == Incident.id)
        .where(
            Alert.monitor_id == monitor.id, Alert.status != "resolved", Incident.status.in_(("open", "investigating"))
        )
        .order_by(Incident.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    subjects = ", ".join(f"{e.kind} {e.subject}".strip() for e in new.values())
    lines = [f"Monitor {monitor.name} of {ref} found violations in the window {run.window_start.isoformat()} to "
             f"{run.window_end.isoformat()} (run {run.id}): {subjects}."]  # fmt: skip
    lines += [f"- {e.kind} {e.subject}: {e.description}" for e in new.values()]
    if evidence:
        lines.append("Evidence: assessments " + ", ".join(str(i) for i in evidence) + ".")
    spec = IncidentSpec(
        title=f"Monitor {monitor.name}: {len(new)} violation{'s' if len(new) > 1 else ''} on {ref}"[:300],
        description="\n".join(lines)[:20_000],
        severity=settings.incident.severity,
        model_version=ref,
    )
    return open_incident(tx, owner, spec, version.id, monitor=monitor.name, run=run.id, assessments=evidence)


def _retraining_for(
    tx: Transaction,
    owner: System,
    monitor: Monitor,
    run: MonitorRun,
    version: ModelVersion,
    ref: str,
    opened: list[Alert],
    evidence: list[int],
) -> RetrainingRequest | None:
    """One open retraining request per model version: a new one for the first new alert, unless one is open."""
    if tx.session.execute(
        select(RetrainingRequest.id).where(
            RetrainingRequest.model_version_id == version.id, RetrainingRequest.status == "open"
        )
    ).first():
        return None
    subjects = ", ".join(f"{a.kind} {a.subject}".strip() for a in opened)
    request = RetrainingRequest(
        system_id=owner.id,
        model_version_id=version.id,
        alert_id=opened[0].id,
        assessment_ids=evidence,
        reason=f"monitor {monitor.name} (run {run.id}) found violations on {ref}: {subjects}"[:20_000],
        status="open",
        created_by=tx.actor,
    )
    tx.session.add(request)
    tx.record(
        "retraining.open",
        request,
        before=None,
        payload={"system": owner.name, "model_version": ref, "alert": opened[0].id, "assessments": evidence},
    )
    return request


# -- sending ---------------------------------------------------------------------------------------------------------


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Assay-Signature`` value of ``body``: ``sha256=`` and the hex HMAC-SHA256 of the body's bytes."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook is posted to its URL only: a redirect is a failure, never followed (the body would go elsewhere)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER: Final = urllib.request.build_opener(_NoRedirect)


def _attempts(
    settings: Settings, send: Callable[[], None], retryable: Callable[[Exception], bool]
) -> tuple[int, str | None]:
    """Call ``send`` up to ``alert_attempts`` times, waiting ``alert_backoff`` seconds doubled each time; (attempts
    made, the last error or None)."""
    error: str | None = None
    for attempt in range(1, settings.alert_attempts + 1):
        try:
            send()
            return attempt, None
        except Exception as exc:
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
            if not retryable(exc) or attempt == settings.alert_attempts:
                return attempt, error
            time.sleep(settings.alert_backoff * 2 ** (attempt - 1))
    return settings.alert_attempts, error


def _http_retryable(exc: Exception) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in _RETRYABLE_HTTP
    return isinstance(exc, OSError)  # URLError, timeouts, refused connections


def _smtp_retryable(exc: Exception) -> bool:
    permanent = (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused, smtplib.SMTPNotSupportedError,
                 smtplib.SMTPSenderRefused)  # fmt: skip
    return isinstance(exc, smtplib.SMTPException | OSError) and not isinstance(exc, permanent)


def send_mail(settings: Settings, mail: EmailMessage) -> tuple[int, str | None]:
    """Send ``mail`` through the SMTP server of the settings (``ASSAY_SMTP_*``: port 465 TLS, else STARTTLS unless
    turned off, a login when a user is set), retrying a temporary failure as alerts do; (attempts made, the last
    error or None). The caller checks that ``smtp_host`` is set."""
    host = settings.smtp_host or ""

    def send() -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if settings.smtp_port == 465:
            smtp = smtplib.SMTP_SSL(host, settings.smtp_port, timeout=settings.alert_timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, settings.smtp_port, timeout=settings.alert_timeout)
        with smtp:
            if settings.smtp_port != 465 and settings.smtp_starttls:
                smtp.starttls(context=context)
            if settings.smtp_user:
                password = "" if settings.smtp_password is None else settings.smtp_password.get_secret_value()
                smtp.login(settings.smtp_user, password)
            smtp.send_message(mail)

    attempts, error = _attempts(settings, send, _smtp_retryable)
    if error is not None and "STARTTLS extension not supported" in error:
        error += " (a relay without TLS on this host: ASSAY_SMTP_STARTTLS=false)"
    return attempts, error


def _subject_line(message: Mapping[str, Any]) -> str:
    alert = message["alert"]
    what = {"open": "violation", "reminder": "still failing", "resolve": "resolved"}[message["event"]]
    on = f"{alert['kind']} {alert['subject']}".strip()
    return f"[Assay {alert['severity']}] {message['system']} / {message['monitor']['name']}: {on} {what}"


def _text(message: Mapping[str, Any]) -> str:
    alert = message["alert"]
    lines = [
        _subject_line(message),
        "",
        f"System: {message['system']}   model version: {message['model_version']}",
        f"Monitor: {message['monitor']['name']}   alert {alert['id']} ({alert['status']}, "
        f"{alert['occurrences']} window{'s' if alert['occurrences'] != 1 else ''})",
        f"Window: {message['run']['window_start']} to {message['run']['window_end']} (run {message['run']['id']})",
        "",
        alert["description"],
    ]
    if alert["assessment_ids"]:
        lines.append("Evidence: assessments " + ", ".join(str(i) for i in alert["assessment_ids"]))
    if alert["incident_id"] is not None:
        lines.append(f"Incident: {alert['incident_id']}")
    if message.get("retraining_request_id") is not None:
        lines.append(f"Retraining request: {message['retraining_request_id']}")
    lines += ["", f"`assay alert show {message['system']} {alert['id']}`"]
    return "\n".join(lines) + "\n"


class Alerts(Service):
    """Alerts and retraining requests of each system: list, show, acknowledge, resolve, close; deliver the
    notifications :func:`evaluate` found due; provision webhook secrets for a new monitor."""

    # -- webhook secrets -------------------------------------------------------------------------------------------

    @property
    def _secret_folder(self) -> Path:
        return self.ws.home.joinpath(*_SECRETS)

    def provision(self, alerting: AlertingSettings | Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
        """Validate a new monitor's alerting settings and generate the secret of each webhook that names none (kept
        in the workspace, ``.assay/keys/webhooks/<secret_ref>``, 0600, never in the database). Returns the settings
        to store (with the ``secret_ref`` of each generated secret) and ``{url: secret}`` to show the user once."""
        settings = alerting_settings(alerting)
        shown: dict[str, str] = {}
        hooks: list[Webhook] = []
        for hook in settings.webhooks:
            if hook.secret_env is None and hook.secret_ref is None:
                ref, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
                folder = private_folder(self._secret_folder, under=self.ws.home)
                descriptor = os.open(folder / ref, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(secret)
                hook = hook.model_copy(update={"secret_ref": ref})
                shown[hook.url] = secret
            hooks.append(hook)
        stored = settings.model_copy(update={"webhooks": hooks})
        return stored.model_dump(mode="json"), shown

    def webhook_secret(self, hook: Webhook) -> bytes:
        """The HMAC secret of ``hook``: from its environment variable, or the file Assay generated."""
        if hook.secret_env is not None:
            value = os.environ.get(hook.secret_env)
            if not value:
                raise InvalidInput(f"the environment variable {hook.secret_env} (the secret of {hook.url}) is not set")
            return value.encode()
        if hook.secret_ref is None:
            raise InvalidInput(f"the webhook {hook.url} has no secret: create the monitor through Assay")
        path = self._secret_folder / hook.secret_ref
        try:
            return path.read_text(encoding="utf-8").strip().encode()
        except OSError:
            raise InvalidInput(
                f"the secret of {hook.url} (.assay/keys/webhooks/{hook.secret_ref}) is missing from this workspace: "
                "restore it, or give the webhook a secret_env"
            ) from None

    # -- delivery --------------------------------------------------------------------------------------------------

    def deliver(self, pending: Sequence[Pending]) -> list[Delivery]:
        """Send each notification (after the transaction that found it due has committed). Never raises: whatever
        fails is logged and recorded."""
        done = []
        for item in pending:
            try:
                done.append(self._deliver(item))
            except Exception as exc:
                log.exception("alert %s: the %s notification could not be delivered", item.alert_id, item.event)
                error = ChannelResult("log", "assay.alerts", False, 0, f"{type(exc).__name__}: {exc}"[:500])
                done.append(Delivery(item.alert_id, item.event, "failed", [error]))
        return done

    def _claim(self, item: Pending) -> tuple[str, dict[str, Any] | None, AlertingSettings | None]:
        """In one write transaction: whether the notification is still due, within the rate limit (then the alert's
        ``notified_at`` is now, recorded), and the message."""
        with self._write() as tx:
            alert = tx.session.get(Alert, item.alert_id)
            monitor = None if alert is None else tx.session.get(Monitor, alert.monitor_id)
            if alert is None or monitor is None:
                return "skipped", None, None
            settings = alerting_settings(monitor.alerting)
            now = utcnow()
            if not _is_due(alert, item.event, settings, now):
                return "skipped", None, settings
            message = self._message(tx.session, alert, monitor, item.event)
            sent = self._sent_last_hour(tx.session, monitor.id, now)
            if sent >= settings.rate_limit_per_hour:
                tx.record(
                    "alert.suppress",
                    alert,
                    before=alert.state(),
                    payload={"event": item.event, "rate_limit_per_hour": settings.rate_limit_per_hour, "sent": sent},
                )
                return "suppressed", message, settings
            before = alert.state()
            alert.notified_at = now
            channels = ["log"] * settings.log + ["webhook"] * len(settings.webhooks) + ["email"] * bool(settings.email)
            tx.record(
                "alert.notify",
                alert,
                before=before,
                payload={"event": item.event, "delivery_id": message["delivery_id"], "channels": channels},
            )
            return "claimed", message, settings

    @staticmethod
    def _sent_last_hour(session: Session, monitor_id: int, now: dt.datetime) -> int:
        """Notifications of the monitor's alerts in the last hour (``alert.notify`` events): only alerts notified
        since then can have one, so the count reads a few of the monitor's alerts' events, not the whole ledger."""
        since = now - dt.timedelta(hours=1)
        recent = [
            str(i)
            for i in session.execute(
                select(Alert.id).where(Alert.monitor_id == monitor_id, Alert.notified_at >= since)
            ).scalars()
        ]
        if not recent:
            return 0
        since_text = since.isoformat(timespec="microseconds").replace("+00:00", "Z")
        return int(
            session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.object_type == "alerts",
                    AuditEvent.action == "alert.notify",
                    AuditEvent.object_id.in_(recent),
                    AuditEvent.time >= since_text,
                )
            ).scalar_one()
        )

    @staticmethod
    def _message(session: Session, alert: Alert, monitor: Monitor, event: Event) -> dict[str, Any]:
        """The notification: the webhook's JSON body (``timestamp`` and ``delivery_id`` inside it, so the signature
        covers them: a receiver refuses old or repeated deliveries)."""
        owner = session.get(System, alert.system_id)
        _version, ref = _version_ref(session, monitor.model_version_id)
        run = session.get(MonitorRun, alert.last_run_id)
        assert owner is not None and run is not None
        retraining = session.execute(
            select(RetrainingRequest.id).where(RetrainingRequest.alert_id == alert.id)
        ).scalar_one_or_none()
        state = alert.state()
        return {
            "schema": SCHEMA,
            "event": event,
            "delivery_id": uuid.uuid4().hex,
            "timestamp": int(time.time()),
            "system": owner.name,
            "model_version": ref,
            "monitor": {"id": monitor.id, "name": monitor.name},
            "alert": {k: state[k] for k in (
                "id", "key", "kind", "subject", "severity", "status", "description", "occurrences", "first_run_id",
                "last_run_id", "incident_id", "assessment_ids", "rollback_to", "created_at", "resolved_at")},
            "run": {"id": run.id, "status": run.status, "window_start": run.window_start.isoformat(),
                    "window_end": run.window_end.isoformat()},
            "retraining_request_id": retraining,
        }  # fmt: skip

    def _deliver(self, item: Pending) -> Delivery:
        status, message, settings = self._claim(item)
        if status == "skipped" or message is None or settings is None:
            return Delivery(item.alert_id, item.event, "skipped")
        results: list[ChannelResult] = []
        level = logging.INFO if item.event == "resolve" else logging.WARNING
        if settings.log or status == "suppressed":
            note = " (not sent: the monitor's rate limit)" if status == "suppressed" else ""
            log.log(level, "%s%s", _subject_line(message), note)
            results.append(ChannelResult("log", "assay.alerts", True, 1))
        if status == "suppressed":
            return Delivery(item.alert_id, item.event, "suppressed", results, message)
        body = json.dumps(message, sort_keys=True, separators=(",", ":")).encode()
        results += [self._post(hook, body, message) for hook in settings.webhooks]
        if settings.email:
            results.append(self._mail(settings.email, message))
        outside = [r for r in results if r.channel != "log"]
        if outside:
            with self._write() as tx:
                alert = tx.session.get(Alert, item.alert_id)
                assert alert is not None
                tx.record(
                    "alert.delivery",
                    alert,
                    before=alert.state(),
                    payload={"event": item.event, "delivery_id": message["delivery_id"],
                             "channels": [r.to_dict() for r in outside]},
                )  # fmt: skip
            for failed in (r for r in outside if not r.ok):
                log.error("alert %s: %s to %s failed after %d attempts: %s", item.alert_id, failed.channel,
                          failed.target, failed.attempts, failed.error)  # fmt: skip
        ok = sum(r.ok for r in outside)
        outcome: Literal["sent", "partial", "failed"] = (
            "sent" if ok == len(outside) else "failed" if ok == 0 else "partial"
        )
        return Delivery(item.alert_id, item.event, outcome, results, message)

    def _post(self, hook: Webhook, body: bytes, message: Mapping[str, Any]) -> ChannelResult:
        settings = self.ws.settings
        try:
            secret = self.webhook_secret(hook)
        except InvalidInput as exc:
            return ChannelResult("webhook", hook.url, False, 0, str(exc))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"assay/{__version__}",
            SIGNATURE_HEADER: sign(secret, body),
            TIMESTAMP_HEADER: str(message["timestamp"]),
            "X-Assay-Delivery": str(message["delivery_id"]),
            "X-Assay-Event": str(message["event"]),
        }

        def send() -> None:
            request = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
            with _OPENER.open(request, timeout=settings.alert_timeout) as response:
                if not 200 <= response.status < 300:
                    raise urllib.error.HTTPError(hook.url, response.status, "not a 2xx answer", response.headers, None)

        attempts, error = _attempts(settings, send, _http_retryable)
        return ChannelResult("webhook", hook.url, error is None, attempts, error)

    def _mail(
        self, recipients: Sequence[str], message: Mapping[str, Any], subject: str | None = None, text: str | None = None
    ) -> ChannelResult:
        settings = self.ws.settings
        target = ", ".join(recipients)
        if not settings.smtp_host:
            return ChannelResult("email", target, False, 0, "ASSAY_SMTP_HOST is not set: alert e-mail cannot be sent")
        mail = EmailMessage()
        mail["Subject"] = subject or _subject_line(message)
        mail["From"] = settings.smtp_from
        mail["To"] = target
        mail["Message-ID"] = f"<{message['delivery_id']}@assay>"
        mail.set_content(text or _text(message))
        attempts, error = send_mail(settings, mail)
        return ChannelResult("email", target, error is None, attempts, error)

    def announce(
        self, system: str, model_version: str, event: str, text: str, details: Mapping[str, Any]
    ) -> list[ChannelResult]:
        """Tell the people who watch a model version that something happened to it outside a monitor's windows (the
        kill switch: ``event`` ``pause`` or ``resume``): always the log (``assay.alerts``, WARNING), and the webhooks
        (signed as alerts are) and e-mail recipients of every monitor of the version. Never raises; the results say
        what was delivered. The change itself is in the ledger already; this only notifies."""
        results = [ChannelResult("log", "assay.alerts", True, 1)]
        log.warning("[Assay] %s %s: %s", system, model_version, text)
        try:
            with self._read() as session:
                owner = session.execute(select(System).where(System.name_key == system.lower())).scalar_one()
                monitors = [
                    monitor
                    for monitor in session.execute(
                        select(Monitor).where(Monitor.system_id == owner.id, Monitor.deleted_at.is_(None))
                    ).scalars()
                    if _version_ref(session, monitor.model_version_id)[1] == model_version
                ]
                targets = [(m.name, alerting_settings(m.alerting)) for m in monitors]
        except Exception as exc:  # a notice must never undo or hide the change it announces
            log.exception("announcing %s of %s %s", event, system, model_version)
            return [*results, ChannelResult("log", "assay.alerts", False, 0, f"{type(exc).__name__}: {exc}"[:500])]
        for monitor_name, settings in targets:
            message = {
                "schema": NOTICE_SCHEMA,
                "event": event,
                "delivery_id": uuid.uuid4().hex,
                "timestamp": int(time.time()),
                "system": system,
                "model_version": model_version,
                "monitor": monitor_name,
                "text": text,
                **details,
            }
            body = json.dumps(message, sort_keys=True, separators=(",", ":"), default=str).encode()
            results += [self._post(hook, body, message) for hook in settings.webhooks]
            if settings.email:
                subject = f"[Assay] {system} {model_version}: {event}"
                results.append(self._mail(settings.email, message, subject, f"{subject}\n\n{text}\n"))
        for failed in (r for r in results if not r.ok):
            log.error("%s of %s %s: %s to %s failed: %s", event, system, model_version, failed.channel,
                      failed.target, failed.error)  # fmt: skip
        return results

    # -- what /metrics reads ---------------------------------------------------------------------------------------

    def snapshot(self, *, max_series: int) -> Snapshot:
        """The monitors the viewer may see with their last run and the metrics of their last run with results, and
        the open alerts counted by system, severity and status: at most five statements whatever the number of
        monitors, at most ``max_series`` metric values."""
        with self._read() as session:
            visible = _lookup.visible_systems(session)
            latest = select(func.max(MonitorRun.id)).group_by(MonitorRun.monitor_id)
            judged = latest.where(MonitorRun.status.in_(("ok", "violations")))
            base = (
                select(Monitor, System.name, Model.name, ModelVersion.version)
                .join(System, System.id == Monitor.system_id)
                .join(ModelVersion, ModelVersion.id == Monitor.model_version_id)
                .join(Model, Model.id == ModelVersion.model_id)
                .where(Monitor.deleted_at.is_(None))
                .order_by(System.name, Monitor.name, Monitor.id)
            )
            if visible is not None:
                base = base.where(visible)
            monitors = session.execute(base).all()
            ids = [row[0].id for row in monitors]
            last = {
                r.monitor_id: r
                for r in session.execute(
                    select(MonitorRun).where(MonitorRun.id.in_(latest), MonitorRun.monitor_id.in_(ids))
                ).scalars()
            }
            results = {
                r.monitor_id: r
                for r in session.execute(
                    select(MonitorRun).where(MonitorRun.id.in_(judged), MonitorRun.monitor_id.in_(ids))
                ).scalars()
            }
            alerts_query = (
                select(System.name, Alert.severity, Alert.status, func.count())
                .join(System, System.id == Alert.system_id)
                .where(Alert.status != "resolved")
                .group_by(System.name, Alert.severity, Alert.status)
                .order_by(System.name, Alert.severity, Alert.status)
            )
            if visible is not None:
                alerts_query = alerts_query.where(visible)
            alerts = [(str(a), str(b), str(c), int(n)) for a, b, c, n in session.execute(alerts_query).all()]
        states: list[MonitorState] = []
        series, truncated = 0, False
        for monitor, system, model, version in monitors:
            run, judged_run = last.get(monitor.id), results.get(monitor.id)
            values: list[tuple[str, str, str, float]] = []
            for result in [] if judged_run is None else judged_run.results or []:
                for metric in result.get("metrics") or []:
                    value = metric.get("value")
                    if isinstance(value, bool) or not isinstance(value, int | float):
                        continue  # a metric without a number (not computed in this window)
                    if series >= max_series:
                        truncated = True
                        break
                    values.append((str(result.get("kind", "")), str(metric.get("name", "")),
                                   str(metric.get("subject") or ""), float(value)))  # fmt: skip
                    series += 1
            states.append(MonitorState(
                system=system, model_version=f"{model}@{version}", monitor=monitor.name,
                last_run_at=None if run is None else run.created_at,
                last_window_end=None if run is None else run.window_end,
                last_status=None if run is None else run.status, metrics=values,
            ))  # fmt: skip
        return Snapshot(states, alerts, series, truncated)

    # -- alerts ----------------------------------------------------------------------------------------------------

    def list(
        self,
        system: str,
        *,
        status: str | None = None,
        monitor: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Listing[Alert]:
        """The system's alerts, newest first; of one status (open, acknowledged, resolved) or monitor when given."""
        choice(status, ALERT_STATUSES, "alert status")
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(Alert).where(Alert.system_id == owner.id)
            if status is not None:
                query = query.where(Alert.status == status)
            if monitor is not None:
                query = query.where(Alert.monitor_id.in_(
                    select(Monitor.id).where(Monitor.system_id == owner.id, Monitor.name == monitor)))  # fmt: skip
            return listing(session, query.order_by(Alert.id.desc()), limit, offset)

    def get(self, system: str, alert_id: int) -> Alert:
        with self._read() as session:
            owner = _lookup.system(session, system)
            return _lookup.by_id(session, Alert, alert_id, f"alert of {owner.name!r}", system_id=owner.id)

    def acknowledge(self, system: str, alert_id: int, *, note: str = "") -> Alert:
        """Someone has the alert in hand: no reminders from now on (its resolution is still announced)."""
        return self._move(system, alert_id, "acknowledged", note, "alert.acknowledge")

    def resolve(self, system: str, alert_id: int, *, note: str = "") -> Alert:
        """Resolve an alert by hand (the monitor resolves it when a judged window passes); if the violation is still
        there in the next window, a new alert opens."""
        return self._move(system, alert_id, "resolved", note, "alert.resolve")

    def _move(self, system: str, alert_id: int, status: str, note: str, action: str) -> Alert:
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            alert = _lookup.by_id(tx.session, Alert, alert_id, f"alert of {owner.name!r}", system_id=owner.id)
            if alert.status == "resolved":
                raise Conflict(f"alert {alert_id} is resolved already")
            if alert.status == status:
                raise Conflict(f"alert {alert_id} is {status} already")
            before = alert.state()
            now = utcnow()
            alert.status, alert.updated_at = status, now
            if status == "resolved":
                alert.resolved_at = now
            tx.record(action, alert, before=before, payload={"system": owner.name, "by": "hand", "note": note})
        return alert

    # -- retraining requests ---------------------------------------------------------------------------------------

    def retraining(
        self, system: str, *, status: str | None = None, limit: int | None = None, offset: int = 0
    ) -> Listing[RetrainingRequest]:
        """The system's retraining requests, newest first."""
        choice(status, RETRAINING_STATUSES, "retraining request status")
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(RetrainingRequest).where(RetrainingRequest.system_id == owner.id)
            if status is not None:
                query = query.where(RetrainingRequest.status == status)
            return listing(session, query.order_by(RetrainingRequest.id.desc()), limit, offset)

    def get_retraining(self, system: str, request_id: int) -> RetrainingRequest:
        with self._read() as session:
            owner = _lookup.system(session, system)
            return _lookup.by_id(
                session, RetrainingRequest, request_id, f"retraining request of {owner.name!r}", system_id=owner.id
            )

    def request_retraining(self, system: str, model_version: str, *, reason: str) -> RetrainingRequest:
        """Ask, as a person, for ``MODEL@VERSION`` to be retrained."""
        if not reason.strip():
            raise InvalidInput("a retraining request needs a reason")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            version = _lookup.model_version(tx.session, owner, model_version)
            request = RetrainingRequest(system_id=owner.id, model_version_id=version.id, reason=reason.strip(),
                                        status="open", created_by=tx.actor, assessment_ids=[])  # fmt: skip
            tx.session.add(request)
            tx.record(
                "retraining.open", request, before=None, payload={"system": owner.name, "model_version": model_version}
            )
        return request

    def close_retraining(
        self, system: str, request_id: int, *, status: str, resolution: str = "", version: str | None = None
    ) -> RetrainingRequest:
        """Close a retraining request: ``done`` by the version that replaces it (``version``, MODEL@VERSION), or
        ``declined`` with a reason (``resolution``)."""
        if status not in ("done", "declined"):
            raise InvalidInput(f"a retraining request closes as done or declined, not {status!r}")
        if status == "done" and version is None:
            raise InvalidInput("a retraining request is done by a new model version: give it (MODEL@VERSION)")
        if status == "declined" and not resolution.strip():
            raise InvalidInput("declining a retraining request needs a reason (resolution)")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            request = _lookup.by_id(
                tx.session, RetrainingRequest, request_id, f"retraining request of {owner.name!r}", system_id=owner.id
            )
            if request.status != "open":
                raise Conflict(f"retraining request {request_id} is {request.status} already")
            replacement = None if version is None else _lookup.model_version(tx.session, owner, version)
            if replacement is not None and replacement.id == request.model_version_id:
                raise InvalidInput(f"{version} is the version to be retrained: name the new version that replaces it")
            before = request.state()
            request.status, request.resolution, request.updated_at = status, resolution.strip(), utcnow()
            request.resolved_by_version_id = None if replacement is None else replacement.id
            tx.record(
                "retraining.close",
                request,
                before=before,
                payload={"system": owner.name, "status": status, "version": version, "resolution": resolution},
            )
        return request
