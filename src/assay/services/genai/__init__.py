"""``workspace.genai``: generative AI, one service per part.

==================  ===================================================================================
part                what
==================  ===================================================================================
``guard``           guardrail policies (versioned), applying them with every decision recorded, counts
``corpora``         protected corpora (documents not to be reproduced) and their indexes
``licences``        licences and provenance of models and datasets; incompatible combinations as risks
``evaluations``     recorded generative evaluations (the ``genai-eval`` kind) compared with a paired test
==================  ===================================================================================

The evaluation harness is a compute kind (``genai-eval``, run through ``workspace.runs``); its comparison of two
versions and the red-team suite are parts here too. Each part is a :class:`assay.services._base.Service` in its own
module of this package, made on first use.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assay.services.genai.corpora import Corpora
    from assay.services.genai.evaluations import Evaluations
    from assay.services.genai.guard import GuardService
    from assay.services.genai.licences import Licences
    from assay.services.workspace import Workspace

__all__ = ["GenAI"]


class GenAI:
    """The generative AI services of one workspace (acting as its actor)."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    @cached_property
    def guard(self) -> GuardService:
        """Guardrail policies (versioned), applying them with every decision recorded, counts and verification."""
        from assay.services.genai.guard import GuardService

        return GuardService(self.ws)

    @cached_property
    def evaluations(self) -> Evaluations:
        """Recorded generative evaluations (``genai-eval``) and their paired comparison."""
        from assay.services.genai.evaluations import Evaluations

        return Evaluations(self.ws)

    @cached_property
    def corpora(self) -> Corpora:
        """Protected corpora (documents not to be reproduced), versioned by name, and their cached indexes."""
        from assay.services.genai.corpora import Corpora

        return Corpora(self.ws)

    @cached_property
    def licences(self) -> Licences:
        """The licence and provenance check of a system; its findings kept as risks."""
        from assay.services.genai.licences import Licences

        return Licences(self.ws)
