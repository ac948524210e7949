"""Licences and provenance of models and datasets: the known licences and the rules that flag combinations a system
may not lawfully (or prudently) use. Pure: no storage; ``services.genai.licences`` reads the records and turns each
finding into a risk.

A licence is written as its SPDX identifier where SPDX has one (``Apache-2.0``, ``CC-BY-NC-4.0``); the table
:data:`LICENCES` knows the terms that matter here (commercial use, share-alike, derivatives) of a small set of
licences common for data and models, and the names of model licences SPDX does not list (``OpenRAIL-M``,
``Llama-3-community``, ``Gemma``). Anything else is accepted as free text with a warning (:func:`licence_note`) and
treated as an unknown licence by the rules. :func:`normalise_licence` gives a known id its canonical spelling
(``apache-2.0`` -> ``Apache-2.0``).

The rules (:func:`licence_findings`), each finding with a stable ``key`` (the same problem gives the same key on
every run, so its risk is updated rather than duplicated):

==================  ==========================================================================================
rule                flagged when
==================  ==========================================================================================
non-commercial      a model version, or data it was trained on (its training dataset version and that version's
                    lineage), has a non-commercial licence and the system is marked commercial
share-alike         data under a share-alike licence (CC-BY-SA, GPL, AGPL, ODbL) trained a model version whose
                    licence is proprietary (the derived model would have to be shared alike)
no-derivatives      data under a no-derivatives licence (CC-BY-ND, CC-BY-NC-ND) trained a model version (a trained
                    model is arguably an adaptation)
unknown-licence     a training dataset version, or a model version built on a foundation model, has no licence,
                    ``unknown``, or a licence not in the table
no-provider         a model version names a foundation model but not its provider
==================  ==========================================================================================

These are flags for a person to judge (legal advice is out of scope): each becomes a risk of the system, linked to
ISO/IEC 42001 A.7.5 (data provenance) or A.10.3 (suppliers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "LICENCES",
    "RULES",
    "DatasetFacts",
    "LicenceFinding",
    "LicenceTerms",
    "ModelFacts",
    "SystemFacts",
    "known_licences",
    "licence_findings",
    "licence_note",
    "normalise_licence",
    "terms_of",
]


@dataclass(frozen=True)
class LicenceTerms:
    """What a licence allows, as far as the rules need: commercial use, whether adaptations must be shared alike,
    whether adaptations are allowed at all; ``kind`` sums it up (permissive, share-alike, non-commercial,
    no-derivatives, model-licence, proprietary, unknown)."""

    id: str
    title: str
    kind: str
    commercial: bool | None = True
    share_alike: bool = False
    derivatives: bool = True


def _t(id_: str, title: str, kind: str, **terms: bool | None) -> tuple[str, LicenceTerms]:
    return id_, LicenceTerms(id_, title, kind, **terms)  # type: ignore[arg-type]


#: The licences the rules know (SPDX ids where SPDX has one), by id.
LICENCES: Final[Mapping[str, LicenceTerms]] = dict(
    [
        _t("Apache-2.0", "Apache License 2.0", "permissive"),
        _t("MIT", "MIT License", "permissive"),
        _t("BSD-2-Clause", 'BSD 2-Clause "Simplified" License', "permissive"),
        _t("BSD-3-Clause", 'BSD 3-Clause "New" or "Revised" License', "permissive"),
        _t("BSD-3-Clause-Clear", "BSD 3-Clause Clear License", "permissive"),
        _t("0BSD", "BSD Zero Clause License", "permissive"),
        _t("CC0-1.0", "Creative Commons Zero v1.0 Universal", "permissive"),
        _t("CC-BY-4.0", "Creative Commons Attribution 4.0", "permissive"),
        _t("CC-BY-SA-4.0", "Creative Commons Attribution Share Alike 4.0", "share-alike", share_alike=True),
        _t("CC-BY-NC-4.0", "Creative Commons Attribution Non Commercial 4.0", "non-commercial", commercial=False),
        _t(
            "CC-BY-NC-SA-4.0",
            "Creative Commons Attribution Non Commercial Share Alike 4.0",
            "non-commercial",
            commercial=False,
            share_alike=True,
        ),
        _t("CC-BY-ND-4.0", "Creative Commons Attribution No Derivatives 4.0", "no-derivatives", derivatives=False),
        _t(
            "CC-BY-NC-ND-4.0",
            "Creative Commons Attribution Non Commercial No Derivatives 4.0",
            "non-commercial",
            commercial=False,
            derivatives=False,
        ),
        _t("GPL-3.0-only", "GNU General Public License v3.0 only", "share-alike", share_alike=True),
        _t("GPL-3.0-or-later", "GNU General Public License v3.0 or later", "share-alike", share_alike=True),
        _t("AGPL-3.0-only", "GNU Affero General Public License v3.0 only", "share-alike", share_alike=True),
        _t("ODbL-1.0", "Open Data Commons Open Database License v1.0", "share-alike", share_alike=True),
        _t("CDLA-Permissive-2.0", "Community Data License Agreement Permissive 2.0", "permissive"),
        _t("OpenRAIL-M", "Open RAIL-M (responsible AI licence with use restrictions)", "model-licence"),
        _t("Llama-3-community", "Meta Llama 3 Community License (use policy; large-service limit)", "model-licence"),
        _t("Gemma", "Gemma Terms of Use (prohibited use policy)", "model-licence"),
        _t("proprietary", "Proprietary: the organisation's own, or under a contract", "proprietary"),
        _t("unknown", "Unknown: nobody has established the licence", "unknown", commercial=None),
    ]
)
_BY_KEY: Final = {key.lower(): terms for key, terms in LICENCES.items()}
_ALIASES: Final = {"gemma terms": "Gemma", "gemma-terms": "Gemma", "llama3": "Llama-3-community"}


def normalise_licence(value: str) -> str:
    """A known licence id in its canonical spelling (case and the aliases ``Gemma terms``, ``llama3`` ignored);
    anything else as given, stripped."""
    text = value.strip()
    key = text.lower()
    if key in _ALIASES:
        return _ALIASES[key]
    terms = _BY_KEY.get(key)
    return terms.id if terms is not None else text


def terms_of(value: str) -> LicenceTerms | None:
    """The terms of a known licence (None for free text or no licence)."""
    text = value.strip().lower()
    return _BY_KEY.get(_ALIASES.get(text, text).lower())


def licence_note(value: str | None, where: str = "licence") -> str | None:
    """The warning for a licence that is not in the table (free text is accepted: the rules treat it as unknown),
    None for a known id or no licence."""
    if value is None or not value.strip() or terms_of(value) is not None:
        return None
    return (
        f"{where} {value.strip()!r} is not a licence Assay knows: it is kept as written, and the licence check treats "
        f"it as unknown. Use an SPDX id where one exists (e.g. {', '.join(list(LICENCES)[:4])}, CC-BY-NC-4.0), or "
        "'proprietary' / 'unknown'; `assay licences list` shows them all"
    )


@dataclass(frozen=True)
class DatasetFacts:
    """A dataset version as the rules see it: its ref, licence and the refs of its lineage (all ancestors)."""

    ref: str
    licence: str = ""
    ancestors: tuple[DatasetFacts, ...] = ()


@dataclass(frozen=True)
class ModelFacts:
    """A model version as the rules see it (retired versions are left out by the caller)."""

    ref: str
    licence: str = ""
    foundation_model: str = ""
    provider: str = ""
    training: DatasetFacts | None = None


@dataclass(frozen=True)
class SystemFacts:
    name: str
    commercial: bool = False
    models: tuple[ModelFacts, ...] = ()


@dataclass(frozen=True)
class LicenceFinding:
    """One flagged combination: ``key`` is stable across runs (rule and subjects), ``title`` the risk's title
    (stable too), ``controls`` the controls its risk is linked to."""

    key: str
    rule: str
    title: str
    description: str
    subject: str
    likelihood: int
    impact: int
    controls: tuple[str, ...] = field(default_factory=tuple)


#: Each rule's short name, risk ratings (likelihood, impact) and controls.
RULES: Final[Mapping[str, tuple[str, int, int, tuple[str, ...]]]] = {
    "non-commercial": ("non-commercial licence in a commercial system", 4, 4, ("iso42001:A.7.5", "iso42001:A.7.3")),
    "share-alike": ("share-alike data in a proprietary model", 3, 4, ("iso42001:A.7.5",)),
    "no-derivatives": ("no-derivatives data used for training", 3, 4, ("iso42001:A.7.5", "iso42001:A.7.3")),
    "unknown-licence": ("unknown licence", 3, 3, ("iso42001:A.7.5",)),
    "no-provider": ("foundation model without a provider", 3, 3, ("iso42001:A.10.3",)),
}


def _finding(rule: str, subject: str, description: str) -> LicenceFinding:
    name, likelihood, impact, controls = RULES[rule]
    title = f"Licence: {name}: {subject}"[:300]
    return LicenceFinding(f"{rule}:{subject}", rule, title, description, subject, likelihood, impact, controls)


def _lineage(data: DatasetFacts) -> Iterable[DatasetFacts]:
    yield data
    yield from data.ancestors


def _shown(licence: str) -> str:
    return licence.strip() or "none"


def licence_findings(system: SystemFacts) -> list[LicenceFinding]:
    """The flagged combinations of ``system`` (see the module's docstring), each once, in a stable order."""
    found: dict[str, LicenceFinding] = {}

    def add(finding: LicenceFinding) -> None:
        found.setdefault(finding.key, finding)

    for model in system.models:
        model_terms = terms_of(model.licence)
        if system.commercial and model_terms is not None and model_terms.commercial is False:
            add(_finding(
                "non-commercial", f"model {model.ref}",
                f"Model version {model.ref} is licensed {model_terms.id}, which forbids commercial use, and system "
                f"{system.name} is marked commercial.",
            ))  # fmt: skip
        if model.foundation_model and not model.provider.strip():
            add(_finding(
                "no-provider", f"model {model.ref}",
                f"Model version {model.ref} is built on foundation model {model.foundation_model!r} but names no "
                "provider: record who supplies it (their terms, their obligations as a GPAI provider).",
            ))  # fmt: skip
        if model.foundation_model and (model_terms is None or model_terms.id == "unknown"):
            add(_finding(
                "unknown-licence", f"model {model.ref}",
                f"Model version {model.ref} is built on foundation model {model.foundation_model!r} under licence "
                f"{_shown(model.licence)!r}, which Assay does not know: establish the licence and its terms.",
            ))  # fmt: skip
        if model.training is None:
            continue
        for data in _lineage(model.training):
            via = "" if data is model.training else f" (in the lineage of {model.training.ref})"
            data_terms = terms_of(data.licence)
            if data_terms is None or data_terms.id == "unknown":
                add(_finding(
                    "unknown-licence", f"data {data.ref}",
                    f"Dataset version {data.ref}{via} trained model version {model.ref}, and its licence "
                    f"{_shown(data.licence)!r} is unknown: establish it before the model is used.",
                ))  # fmt: skip
                continue
            if system.commercial and data_terms.commercial is False:
                add(_finding(
                    "non-commercial", f"data {data.ref}",
                    f"Dataset version {data.ref}{via} is licensed {data_terms.id}, which forbids commercial use; it "
                    f"trained model version {model.ref} of system {system.name}, which is marked commercial.",
                ))  # fmt: skip
            if data_terms.share_alike and model_terms is not None and model_terms.id == "proprietary":
                add(_finding(
                    "share-alike", f"data {data.ref} in model {model.ref}",
                    f"Dataset version {data.ref}{via} is licensed {data_terms.id} (share-alike) and trained model "
                    f"version {model.ref}, which is licensed proprietary: adaptations must be shared alike.",
                ))  # fmt: skip
            if not data_terms.derivatives:
                add(_finding(
                    "no-derivatives", f"data {data.ref} in model {model.ref}",
                    f"Dataset version {data.ref}{via} is licensed {data_terms.id} (no derivatives) and was used to "
                    f"train model version {model.ref}: a trained model may be an adaptation the licence forbids.",
                ))  # fmt: skip
    return sorted(found.values(), key=lambda f: f.key)


def known_licences() -> Sequence[LicenceTerms]:
    """The table, in order."""
    return list(LICENCES.values())
