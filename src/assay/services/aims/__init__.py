"""``workspace.aims``: the organisation's AI management system (ISO/IEC 42001 clauses 4-10), one service per part.

==================  =======================================================================  =======================
part                records                                                                  clauses
==================  =======================================================================  =======================
``context``         internal and external issues, interested parties, the scope (versions)  4.1, 4.2, 4.3
``documents``       documented information; the AI policy and topic policies (approved)     5.2, 7.5
``roles``           governance roles held by people; AI systems' teams and disciplines       5.3, A.3.2
``objectives``      measurable objectives, measures computed from the store, their trend     6.2
``competence``      training catalogue, required trainings per role, records, gaps           7.2, 7.3
``audits``          the internal audit programme, audits, findings                           9.2
``nonconformities`` nonconformities, corrective actions, effectiveness reviews               10.2
``reviews``         management reviews with the inputs assembled from the store              9.3
==================  =======================================================================  =======================

Each part is a :class:`assay.services._base.Service` in its own module of this package, made on first use.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assay.services.aims.audits import Audits
    from assay.services.aims.competence import Competence
    from assay.services.aims.context import Context
    from assay.services.aims.documents import Documents
    from assay.services.aims.nonconformities import Nonconformities
    from assay.services.aims.objectives import Objectives
    from assay.services.aims.pack import Pack
    from assay.services.aims.readiness import Readiness
    from assay.services.aims.reminders import Reminders
    from assay.services.aims.reviews import Reviews
    from assay.services.aims.roles import Roles
    from assay.services.aims.teams import Teams
    from assay.services.workspace import Workspace

__all__ = ["Aims"]


class Aims:
    """The management system's services of one workspace (acting as its actor)."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    @cached_property
    def readiness(self) -> Readiness:
        """Clauses 4-10 judged for the organisation: ``ws.aims.readiness()``."""
        from assay.services.aims.readiness import Readiness

        return Readiness(self.ws)

    @cached_property
    def pack(self) -> Pack:
        """The certification pack: ``ws.aims.pack.write(out)``; check it with
        :func:`assay.services.aims.pack.verify_pack`."""
        from assay.services.aims.pack import Pack

        return Pack(self.ws)

    @cached_property
    def objectives(self) -> Objectives:
        """Objectives (6.2), the measures computed for them, measurements and trend."""
        from assay.services.aims.objectives import Objectives

        return Objectives(self.ws)

    @cached_property
    def competence(self) -> Competence:
        """The training catalogue, training records, CSV import and the gap list (7.2, 7.3)."""
        from assay.services.aims.competence import Competence

        return Competence(self.ws)

    @cached_property
    def reminders(self) -> Reminders:
        """Per-person reminders: ``ws.aims.reminders(person, within_days)``; ``ws.aims.reminders.send(...)``."""
        from assay.services.aims.reminders import Reminders

        return Reminders(self.ws)

    # -- context and scope, documents and policies, roles and teams (4.1-4.3, 5.2, 5.3, 7.5, A.3.2) ---------------

    @cached_property
    def context(self) -> Context:
        """Internal and external issues, interested parties, the scope (versions)."""
        from assay.services.aims.context import Context

        return Context(self.ws)

    @cached_property
    def documents(self) -> Documents:
        """The register of documented information; the AI policy and topic policies."""
        from assay.services.aims.documents import Documents

        return Documents(self.ws)

    @cached_property
    def roles(self) -> Roles:
        """Governance roles held by people, for the organisation or a system."""
        from assay.services.aims.roles import Roles

        return Roles(self.ws)

    @cached_property
    def teams(self) -> Teams:
        """AI systems' teams, their disciplines and coverage."""
        from assay.services.aims.teams import Teams

        return Teams(self.ws)

    @cached_property
    def audits(self) -> Audits:
        """The internal audit programme, audits and findings (9.2)."""
        from assay.services.aims.audits import Audits

        return Audits(self.ws)

    @cached_property
    def nonconformities(self) -> Nonconformities:
        """Nonconformities, corrective actions and effectiveness reviews (10.2)."""
        from assay.services.aims.nonconformities import Nonconformities

        return Nonconformities(self.ws)

    @cached_property
    def reviews(self) -> Reviews:
        """Management reviews with their inputs assembled from the store (9.3)."""
        from assay.services.aims.reviews import Reviews

        return Reviews(self.ws)
