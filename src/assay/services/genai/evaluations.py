"""``workspace.genai.evaluations``: recorded generative evaluations (``genai-eval`` assessments, run through
``workspace.runs``) and their comparison, item by item, with a paired test per slice and metric
(:func:`assay.genai.evaluate.compare`)."""

from __future__ import annotations

from typing import Any

from assay.errors import InvalidInput
from assay.services._base import Service

__all__ = ["Evaluations"]


class Evaluations(Service):
    """The recorded evaluations of a system and their comparison."""

    def document(self, system: str, assessment_id: int) -> dict[str, Any]:
        """The document of recorded assessment ``assessment_id`` of ``system``; refused when it is not a generative
        evaluation."""
        from assay.services.runs import is_of_kind

        recorded = self.ws.assessments.get(system, assessment_id)
        if not is_of_kind(recorded, "genai-eval"):
            raise InvalidInput(
                f"assessment {assessment_id} of {system} is not a generative evaluation (it is a {recorded.kind})"
            )
        return dict(recorded.document)

    def checks(self, system: str, options: Any) -> dict[str, Any]:
        """What an evaluation on ``system`` checks answers against (keyword arguments of
        :func:`assay.genai.evaluate.evaluate`): the system's disclosure text when the ``disclosure`` option is
        ``system``, and the protected corpus the ``corpus`` option names (its index)."""
        out: dict[str, Any] = {}
        if options.disclosure == "system":
            from assay.services import _lookup

            with self._read() as session:
                text = _lookup.system(session, system).disclosure
            if not text:
                raise InvalidInput(
                    f"disclosure 'system': {system} has no disclosure text; set it (assay system update {system} "
                    "--disclosure TEXT) or give the text to look for"
                )
            out["disclosure"] = text
        if options.corpus is not None:
            out["corpus"] = self.ws.genai.corpora.index(options.corpus)
        return out

    def compare(self, system: str, a: int, b: int, *, alpha: float = 0.05) -> dict[str, Any]:
        """Evaluation ``b`` against evaluation ``a`` (assessment ids of ``system``), as
        :func:`assay.genai.evaluate.compare` documents it."""
        from assay.genai.evaluate import compare

        return compare(self.document(system, a), self.document(system, b), alpha=alpha)
