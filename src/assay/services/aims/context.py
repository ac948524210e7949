"""``workspace.aims.context``: the context of the organisation (ISO/IEC 42001 4.1, 4.2) and the scope of its AI
management system (4.3).

* **Issues** (4.1): internal and external issues that affect what the management system can achieve; added,
  updated, retired (never deleted).
* **Interested parties** (4.2): who has a stake, what they require and what addresses it (controls, documents);
  names unique regardless of case; retired, never deleted.
* **The scope** (4.3): append-only versions; the newest is in force. Each names the AI systems in scope (systems of
  the workspace), units and sites, and what is excluded, each exclusion with its reason.

Every change is kept by a manager (:func:`~assay.services.aims._base.require_manager`) in one write transaction with
its audit event (``aims.issue.*``, ``aims.party.*``, ``aims.scope.set``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import func, select

from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.aims import ISSUE_KINDS, PARTY_CATEGORIES, one_of
from assay.governance.aims_org import exclusions, scope_diff, text, texts
from assay.services._base import Service
from assay.services.aims._base import require_manager
from assay.store.models import AimsIssue, AimsParty, AimsScope, System, utcnow

__all__ = ["Context"]

_ISSUE_FIELDS: Final = ("kind", "title", "description", "category")
_PARTY_FIELDS: Final = ("name", "category", "requirements", "addressed_by")
_STATUSES: Final = ("active", "retired")


def _unknown(changes: Mapping[str, Any], allowed: Sequence[str], what: str) -> None:
    extra = sorted(set(changes) - set(allowed))
    if extra:
        raise InvalidInput(f"{what}: unknown field {extra[0]!r} (fields: {', '.join(allowed)})")


def _status(status: str | None) -> None:
    if status is not None:
        one_of("status", status, _STATUSES)


class Context(Service):
    """Issues, interested parties and the scope of the management system."""

    # -- issues (4.1) -------------------------------------------------------------------------------------------

    def _issue_fields(self, given: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "kind" in given:
            out["kind"] = one_of("issue.kind", given["kind"], ISSUE_KINDS)
        if "title" in given:
            out["title"] = text("issue.title", given["title"], limit=300)
        if "description" in given:
            out["description"] = text("issue.description", given["description"], limit=10_000, required=False)
        if "category" in given:
            out["category"] = text("issue.category", given["category"], limit=60, required=False)
        return out

    def add_issue(self, kind: str, title: str, *, description: str = "", category: str = "") -> AimsIssue:
        """Record an internal or external issue (``category``: legal, technical, social, economic, ... free text)."""
        fields = self._issue_fields({"kind": kind, "title": title, "description": description, "category": category})
        with self._write() as tx:
            require_manager(tx, "record an issue of the management system's context")
            issue = AimsIssue(status="active", created_by=tx.actor, **fields)
            tx.session.add(issue)
            tx.record("aims.issue.create", issue, before=None)
        return issue

    def update_issue(self, issue_id: int, /, **changes: Any) -> AimsIssue:
        """Change ``kind``, ``title``, ``description`` or ``category`` of an active issue."""
        _unknown(changes, _ISSUE_FIELDS, f"update of issue {issue_id}")
        fields = self._issue_fields(changes)
        if not fields:
            raise InvalidInput(f"update of issue {issue_id}: nothing to change (fields: {', '.join(_ISSUE_FIELDS)})")
        with self._write() as tx:
            require_manager(tx, "change an issue of the management system's context")
            issue = self._issue(tx.session, issue_id)
            if issue.status != "active":
                raise Conflict(f"issue {issue_id} is retired: record a new one")
            before = issue.state()
            for key, value in fields.items():
                setattr(issue, key, value)
            issue.updated_at = utcnow()
            tx.record("aims.issue.update", issue, before=before, payload={"changed": sorted(fields)})
        return issue

    def retire_issue(self, issue_id: int, *, reason: str = "") -> AimsIssue:
        """Retire an issue that no longer applies (kept, and listed with ``status="retired"``)."""
        with self._write() as tx:
            require_manager(tx, "retire an issue of the management system's context")
            issue = self._issue(tx.session, issue_id)
            if issue.status == "retired":
                raise Conflict(f"issue {issue_id} is already retired")
            before = issue.state()
            issue.status = "retired"
            issue.retired_at = issue.updated_at = utcnow()
            tx.record("aims.issue.retire", issue, before=before, payload={"reason": reason})
        return issue

    def issues(self, *, kind: str | None = None, status: str | None = "active") -> list[AimsIssue]:
        """The issues (active ones by default; ``status=None``: all), internal first, in the order recorded."""
        if kind is not None:
            one_of("kind", kind, ISSUE_KINDS)
        _status(status)
        with self._read() as session:
            query = select(AimsIssue)
            if kind is not None:
                query = query.where(AimsIssue.kind == kind)
            if status is not None:
                query = query.where(AimsIssue.status == status)
            return list(session.execute(query.order_by(AimsIssue.kind, AimsIssue.id)).scalars())

    @staticmethod
    def _issue(session: Any, issue_id: int) -> AimsIssue:
        issue = session.get(AimsIssue, issue_id)
        if issue is None:
            raise NotFound(f"no issue of the management system's context with id {issue_id}")
        return issue  # type: ignore[no-any-return]

    # -- interested parties (4.2) -------------------------------------------------------------------------------

    def _party_fields(self, given: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "name" in given:
            out["name"] = text("party.name", given["name"], limit=200)
        if "category" in given:
            out["category"] = one_of("party.category", given["category"], PARTY_CATEGORIES)
        if "requirements" in given:
            out["requirements"] = texts("party.requirements", given["requirements"], limit=2000)
        if "addressed_by" in given:
            out["addressed_by"] = texts("party.addressed_by", given["addressed_by"], limit=200)
        return out

    @staticmethod
    def _party(session: Any, name: str) -> AimsParty:
        party = session.execute(select(AimsParty).where(AimsParty.name_key == name.strip().lower())).scalar()
        if party is None:
            known = list(session.execute(select(AimsParty.name).order_by(AimsParty.name_key)).scalars())
            listed = ", ".join(known[:20]) if known else "there are none yet"
            raise NotFound(f"no interested party named {name!r} (known: {listed})")
        return party  # type: ignore[no-any-return]

    @staticmethod
    def _name_free(session: Any, name: str, *, but: int | None = None) -> None:
        clash = session.execute(select(AimsParty).where(AimsParty.name_key == name.lower())).scalar()
        if clash is not None and clash.id != but:
            raise Conflict(
                f"party.name: an interested party named {clash.name!r} exists (names are unique regardless of case)"
            )

    def add_party(
        self,
        name: str,
        category: str,
        *,
        requirements: Iterable[str] = (),
        addressed_by: Iterable[str] = (),
    ) -> AimsParty:
        """Record an interested party, what it requires and what addresses it (control ids, document keys)."""
        fields = self._party_fields(
            {"name": name, "category": category, "requirements": requirements, "addressed_by": addressed_by}
        )
        with self._write() as tx:
            require_manager(tx, "record an interested party")
            self._name_free(tx.session, fields["name"])
            party = AimsParty(status="active", created_by=tx.actor, **fields)
            tx.session.add(party)
            tx.record("aims.party.create", party, before=None)
        return party

    def update_party(self, name: str, /, **changes: Any) -> AimsParty:
        """Change an active party's ``name``, ``category``, ``requirements`` or ``addressed_by`` (lists replace);
        ``name`` (positional) finds it, so ``changes`` may rename it (``name="..."``)."""
        _unknown(changes, _PARTY_FIELDS, f"update of party {name!r}")
        fields = self._party_fields(changes)
        if not fields:
            raise InvalidInput(f"update of party {name!r}: nothing to change (fields: {', '.join(_PARTY_FIELDS)})")
        with self._write() as tx:
            require_manager(tx, "change an interested party")
            party = self._party(tx.session, name)
            if party.status != "active":
                raise Conflict(f"interested party {party.name!r} is retired")
            if "name" in fields:
                self._name_free(tx.session, fields["name"], but=party.id)
            before = party.state()
            for key, value in fields.items():
                setattr(party, key, value)
            party.updated_at = utcnow()
            tx.record("aims.party.update", party, before=before, payload={"changed": sorted(fields)})
        return party

    def retire_party(self, name: str, *, reason: str = "") -> AimsParty:
        """Retire an interested party (kept, listed with ``status="retired"``)."""
        with self._write() as tx:
            require_manager(tx, "retire an interested party")
            party = self._party(tx.session, name)
            if party.status == "retired":
                raise Conflict(f"interested party {party.name!r} is already retired")
            before = party.state()
            party.status = "retired"
            party.updated_at = utcnow()
            tx.record("aims.party.retire", party, before=before, payload={"reason": reason})
        return party

    def parties(self, *, category: str | None = None, status: str | None = "active") -> list[AimsParty]:
        """The interested parties (active ones by default; ``status=None``: all), by name."""
        if category is not None:
            one_of("category", category, PARTY_CATEGORIES)
        _status(status)
        with self._read() as session:
            query = select(AimsParty)
            if category is not None:
                query = query.where(AimsParty.category == category)
            if status is not None:
                query = query.where(AimsParty.status == status)
            return list(session.execute(query.order_by(AimsParty.name_key)).scalars())

    def party(self, name: str) -> AimsParty:
        with self._read() as session:
            return self._party(session, name)

    # -- the scope (4.3) ----------------------------------------------------------------------------------------

    def set_scope(
        self,
        statement: str,
        *,
        systems: Iterable[str] = (),
        units: Iterable[str] = (),
        sites: Iterable[str] = (),
        exclusions: Iterable[Mapping[str, str]] = (),
    ) -> AimsScope:
        """Record a new version of the scope (it is in force from now; earlier versions are kept). ``systems`` are
        AI systems of the workspace (stored by their names); each exclusion is ``{"what", "why"}``, the reason
        required."""
        valid_statement = text("scope.statement", statement, limit=20_000)
        wanted = texts("scope.systems", systems, limit=200)
        valid_units = texts("scope.units", units)
        valid_sites = texts("scope.sites", sites)
        valid_exclusions = _exclusions(exclusions)
        with self._write() as tx:
            require_manager(tx, "set the scope of the management system")
            names = []
            for i, name in enumerate(wanted):
                found = tx.session.execute(select(System.name).where(System.name_key == name.lower())).scalar()
                if found is None:
                    raise InvalidInput(
                        f"scope.systems[{i}]: no AI system named {name!r} (register it with `assay system create` "
                        "or leave it out)"
                    )
                names.append(found)
            previous = _newest(tx.session)
            latest = tx.session.execute(select(func.max(AimsScope.version))).scalar()
            scope = AimsScope(
                version=(latest or 0) + 1,
                statement=valid_statement,
                systems=names,
                units=valid_units,
                sites=valid_sites,
                exclusions=valid_exclusions,
                created_by=tx.actor,
            )
            tx.session.add(scope)
            diff = scope_diff([] if previous is None else previous.systems, names)
            tx.record("aims.scope.set", scope, before=None, payload={"systems": diff})
        return scope

    def scope(self) -> AimsScope | None:
        """The scope in force (the newest version), or None before one is set."""
        with self._read() as session:
            return _newest(session)

    def scopes(self) -> list[dict[str, Any]]:
        """Every version of the scope, oldest first, each with the AI systems it brought in (``added``) and took out
        (``removed``) against the version before."""
        with self._read() as session:
            rows = list(session.execute(select(AimsScope).order_by(AimsScope.version)).scalars())
        out: list[dict[str, Any]] = []
        before: list[str] = []
        for row in rows:
            out.append({**row.state(), **scope_diff(before, row.systems)})
            before = row.systems
        return out


def _exclusions(values: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    return exclusions(list(values))


def _newest(session: Any) -> AimsScope | None:
    return session.execute(select(AimsScope).order_by(AimsScope.version.desc()).limit(1)).scalar()  # type: ignore[no-any-return]
