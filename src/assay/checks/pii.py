"""Personal data (PII) in a dataset: column names, and a sample of values per column scanned with Presidio's
recognisers, offline. Only columns, entity types and counts are reported, never a value.

Sensitive attributes (special-category data of GDPR Art. 9, and sex or gender) are reported apart, by column, from
names and values (:mod:`assay.checks._sensitive`); they do not change the verdict, which is about identifying data.

A column is flagged for the entity types found in its values, and for those its name names when values cannot
show them offline (person names, dates of birth, addresses) or no value was scanned; a name that suggests a type
its values do not confirm is reported (``from_name``) but not flagged.

Offline means: Presidio's analyzer runs on a blank spaCy pipeline (no model is downloaded or loaded), and the
e-mail recogniser's domain check uses tldextract's bundled public-suffix list (no fetch). Pattern recognisers
with validation work this way: e-mail, phone (libphonenumber), credit card (Luhn), IBAN (checksum), IP
address, US SSN and a set of national identifiers with check digits. Person names, places and dates of birth
need a named-entity model, which is not used: they are found from column names only.

In a numeric column only validated results count (credit cards, national identifiers with a checksum) or those
the column's name gives context to (a ``phone`` column of numbers), because plain numbers look like phone
numbers and SSNs by chance.

Digit-pattern identifiers (cards, IBANs, national identifiers) are looked for only in values that have the form of
one: text, or whole numbers; never in a number with a fractional part (a float, or text such as ``0.5488135``),
whose digits pass a check digit by chance (one random digit string in ten passes Luhn). And a column counts for
such an identifier only when at least half of its values that could hold one (those with six digits or more) do
(``MIN_ID_SHARE``): a column of real card numbers passes the checksum in every value, a column of random digit
strings in about one in ten.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numpy as np

from assay.checks._common import (
    DataInfo,
    Sample,
    check_seed,
    column_kind,
    envelope,
    now,
    require_columns,
    row_count,
    sample_rows,
)
from assay.checks._sensitive import SensitiveColumn, sensitive_column
from assay.errors import BackendUnsupported, InvalidInput
from assay.frames import open as open_frame

__all__ = ["CATEGORIES", "ColumnPii", "PiiScan", "analyzer", "entities_in_name", "scan_pii"]

# entity type -> personal-data category written to the store
CATEGORIES: Final[dict[str, str]] = {
    "EMAIL_ADDRESS": "email address",
    "PHONE_NUMBER": "phone number",
    "CREDIT_CARD": "payment card number",
    "IBAN_CODE": "bank account number",
    "IP_ADDRESS": "IP address",
    "US_SSN": "national identification number",
    "UK_NINO": "national identification number",
    "ES_NIF": "national identification number",
    "IT_FISCAL_CODE": "national identification number",
    "PL_PESEL": "national identification number",
    "FI_PERSONAL_IDENTITY_CODE": "national identification number",
    "IN_AADHAAR": "national identification number",
    "SG_NRIC_FIN": "national identification number",
    "NATIONAL_ID": "national identification number",
    "PERSON": "person name",
    "DATE_OF_BIRTH": "date of birth",
    "LOCATION": "postal address",
}
_VALIDATED: Final = frozenset(
    {"CREDIT_CARD", "IBAN_CODE", "ES_NIF", "IT_FISCAL_CODE", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE", "IN_AADHAAR"}
)
# column-name patterns (on the lower-case name with every run of non-alphanumerics as "_")
_NAME_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    ("EMAIL_ADDRESS", r"(^|_)e_?mail(_|$|addr|address)"),
    ("PHONE_NUMBER", r"(^|_)(phone|telephone|tel|mobile|cell|cellphone|fax|msisdn)(_|$|number|no)"),
    ("IP_ADDRESS", r"(^|_)(ip|ipv4|ipv6|ip_?addr|ip_?address)(_|$)"),
    ("CREDIT_CARD", r"(^|_)(credit_?card|card_?(number|no|num)|cc_?(number|num|no)|pan)(_|$)"),
    ("IBAN_CODE", r"(^|_)(iban|bank_?account|account_?(number|no|num))(_|$)"),
    ("US_SSN", r"(^|_)(ssn|social_?security(_?number)?)(_|$)"),
    (
        "NATIONAL_ID",
        r"(^|_)(national_?id|passport(_?(number|no))?|nino|nin|tax_?id|tin|id_?card|driver_?licen[cs]e|"
        r"personnummer|pesel|aadhaar|nif|nie|dni|bsn)(_|$)",
    ),
    (
        "PERSON",
        r"^((first|last|middle|given|family|full|maiden|sur|fore|nick|person|customer|client|patient|employee|user|"
        r"contact|account_?holder|card_?holder)_?names?|names?|first|last|surname|forename|given|patronymic)$",
    ),
    ("DATE_OF_BIRTH", r"(^|_)(dob|birth_?date|date_?of_?birth|birthday)(_|$)"),
    (
        "LOCATION",
        r"^(home_|street_|postal_|mailing_|billing_|shipping_|residential_|customer_)?"
        r"(address|addr|street|zip|zip_?code|post_?code|postal_?code)(_?(line)?_?[0-9]*)?$",
    ),
)
# entity types no offline recogniser finds in values: the column's name is the only evidence
_NAME_ONLY: Final = frozenset({"PERSON", "DATE_OF_BIRTH", "LOCATION"})
_DIGIT = re.compile(r"[0-9]")
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*$")
_DECIMAL = re.compile(
    r"^\s*[-+]?([0-9]*\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?\s*$|^\s*[-+]?[0-9]+[eE][-+]?[0-9]+\s*$"
)
_ID_ENTITIES: Final = (
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "UK_NINO",
    "ES_NIF",
    "IT_FISCAL_CODE",
    "PL_PESEL",
    "FI_PERSONAL_IDENTITY_CODE",
    "IN_AADHAAR",
    "SG_NRIC_FIN",
)


def _id_form(text: str) -> bool:
    """Whether a value could hold a digit-pattern identifier: six digits or more, and not a number with a fractional
    part or an exponent (``0.5488135``, ``1.2e+15``)."""
    return len(_DIGIT.findall(text)) >= 6 and not _DECIMAL.match(text)


def _candidates(text: str) -> list[str]:
    """The entity types a value could hold at all (the phone recogniser is slow: it runs only on values with 7
    digits or more that are not ISO dates; identifiers and phone numbers only in values of their form)."""
    digits = len(_DIGIT.findall(text))
    out: list[str] = []
    if _DECIMAL.match(text):
        return out
    if "@" in text:
        out.append("EMAIL_ADDRESS")
    if ("." in text or ":" in text) and digits:
        out.append("IP_ADDRESS")
    if digits >= 7 and not _ISO_DATE.match(text):
        out.append("PHONE_NUMBER")
    if digits >= 6:
        out += _ID_ENTITIES
    return out


DEFAULT_SAMPLE: Final = 200
#: a column counts for a digit-pattern identifier when at least this share of its values of identifier form hold one
MIN_ID_SHARE: Final = 0.5
DEFAULT_MIN_SCORE: Final = 0.4
_SCAN_LIMIT: Final = 100_000


def _normalise(name: str) -> str:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def entities_in_name(name: str) -> tuple[str, ...]:
    """The entity types a column's name points at (e.g. ``email`` -> EMAIL_ADDRESS, ``last_name`` -> PERSON)."""
    normal = _normalise(name)
    found = [entity for entity, pattern in _NAME_PATTERNS if re.search(pattern, normal)]
    if "IP_ADDRESS" in found and "LOCATION" in found:
        found.remove("LOCATION")
    if "EMAIL_ADDRESS" in found and "LOCATION" in found:
        found.remove("LOCATION")
    return tuple(found)


@cache
def analyzer() -> Any:
    """Presidio's analyzer with a blank spaCy pipeline and the recognisers that work offline (built once)."""
    try:
        import spacy
        import tldextract
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer import predefined_recognizers as known
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
    except ImportError as exc:
        raise BackendUnsupported(
            f"the PII scan needs presidio-analyzer, spacy and tldextract ({exc.name} is not installed)"
        ) from exc

    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(known.EmailRecognizer):
        """Presidio's e-mail recogniser with the bundled public-suffix list (the stock one fetches it)."""

        def validate_result(self, pattern_text: str) -> bool:
            return bool(extract(pattern_text).fqdn != "")

    class BlankSpacyNlpEngine(SpacyNlpEngine):
        """A blank English pipeline: tokens only, no model to download."""

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}  # type: ignore[assignment]  # declared None until loaded

    engine = BlankSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    recognisers = [
        OfflineEmailRecognizer(),
        known.PhoneRecognizer(),
        known.CreditCardRecognizer(),
        known.IbanRecognizer(),
        known.IpRecognizer(),
        known.UsSsnRecognizer(),
        known.UkNinoRecognizer(),
        known.EsNifRecognizer(supported_language="en"),
        known.ItFiscalCodeRecognizer(supported_language="en"),
        known.PlPeselRecognizer(supported_language="en"),
        known.FiPersonalIdentityCodeRecognizer(supported_language="en"),
        known.InAadhaarRecognizer(supported_language="en"),
        known.SgFinRecognizer(supported_language="en"),
    ]
    for recogniser in recognisers:
        registry.add_recognizer(recogniser)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


def _best(results: Sequence[Any]) -> list[Any]:
    """Overlapping results keep the highest score (an IP address is not also a phone number)."""
    kept: list[Any] = []
    for result in sorted(results, key=lambda r: (-r.score, r.start)):
        if all(result.end <= k.start or result.start >= k.end for k in kept):
            kept.append(result)
    return kept


@dataclass(frozen=True)
class ColumnPii:
    """What was found in one column: entity types from its name, and counts of sampled values by entity type."""

    column: str
    inferred_type: str
    name_entities: tuple[str, ...]
    scanned: int
    value_entities: dict[str, int]
    id_form: int = 0
    sensitive: tuple[SensitiveColumn, ...] = ()  # special-category data and sex (checks/_sensitive.py)

    @property
    def entities(self) -> tuple[str, ...]:
        """The entity types found: in values (a digit-pattern identifier in at least ``MIN_ID_SHARE`` of the values
        of identifier form); from the name for types values cannot show offline (names, dates of birth,
        addresses), or for any type when no value could be scanned."""
        from_name = {e for e in self.name_entities if e in _NAME_ONLY or self.scanned == 0}
        in_values = {
            e for e, n in self.value_entities.items() if e not in _ID_ENTITIES or n >= MIN_ID_SHARE * self.id_form
        }
        return tuple(sorted(from_name | in_values))

    @property
    def flagged(self) -> bool:
        return bool(self.entities)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "inferred_type": self.inferred_type,
            "entities": list(self.entities),
            "from_name": list(self.name_entities),
            "values_scanned": self.scanned,
            "values_with_entity": dict(sorted(self.value_entities.items())),
            "values_of_identifier_form": self.id_form,
            "categories": sorted({CATEGORIES.get(e, e.lower()) for e in self.entities}),
            "sensitive": [found.to_dict() for found in self.sensitive],
        }


@dataclass(frozen=True)
class PiiScan:
    data: DataInfo
    columns: tuple[ColumnPii, ...]
    sample: Sample
    per_column: int
    min_score: float
    created_at: str

    @property
    def flagged(self) -> tuple[ColumnPii, ...]:
        return tuple(c for c in self.columns if c.flagged)

    @property
    def pii(self) -> bool:
        return bool(self.flagged)

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(sorted({e for c in self.columns for e in c.entities}))

    @property
    def categories(self) -> tuple[str, ...]:
        """Personal-data categories (as stored with a dataset version)."""
        return tuple(sorted({CATEGORIES.get(e, e.lower()) for e in self.entities}))

    @property
    def sensitive(self) -> tuple[SensitiveColumn, ...]:
        """The sensitive attributes found: special-category data (GDPR Art. 9) and sex or gender."""
        return tuple(found for c in self.columns for found in c.sensitive)

    def to_dict(self) -> dict[str, Any]:
        flagged = [c.column for c in self.flagged]
        sensitive = self.sensitive
        art9 = sorted({f.column for f in sensitive if f.art9})
        return envelope(
            "pii",
            data=self.data,
            sample=self.sample,
            spec={
                "values_per_column": self.per_column,
                "min_score": self.min_score,
                "engine": "presidio-analyzer, blank spaCy pipeline (offline): pattern recognisers only",
                "not_detected_from_values": ["PERSON", "LOCATION", "DATE_OF_BIRTH"],
            },
            passed=not flagged,
            summary=(
                f"personal data in {len(flagged)} of {len(self.columns)} columns"
                + (f": {', '.join(flagged)} ({', '.join(self.categories)})" if flagged else "")
                + (f"; special-category data (GDPR Art. 9) in {', '.join(art9)}" if art9 else "")
            ),
            result={
                "pii": self.pii,
                "entities": list(self.entities),
                "categories": list(self.categories),
                "flagged_columns": flagged,
                "special_category_data": bool(art9),
                "sensitive_columns": [f.to_dict() for f in sensitive],
                "columns": [c.to_dict() for c in self.columns],
            },
            created_at=self.created_at,
        )


def scan_pii(
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    sample: int = DEFAULT_SAMPLE,
    seed: int = 0,
    min_score: float = DEFAULT_MIN_SCORE,
) -> PiiScan:
    """Scan ``columns`` (default: all) of ``data`` for personal data: each column's name, and up to ``sample``
    present values per column drawn at random (``seed``) from the first 100,000 rows. A value counts for an
    entity type when a recogniser scores it at least ``min_score``."""
    if sample < 1:
        raise InvalidInput(f"the number of values per column must be at least 1, not {sample}")
    if not 0.0 < min_score <= 1.0:
        raise InvalidInput(f"min_score must lie in (0, 1], not {min_score}")
    check_seed(seed)
    frame = open_frame(data)
    require_columns(frame, list(columns or []))
    chosen = list(columns or frame.columns)
    kinds = {c: column_kind(frame.schema[c]) for c in chosen}
    scanned_columns = [c for c in chosen if kinds[c] != "Unknown"]
    total = row_count(frame)
    if total == 0:
        raise InvalidInput(f"the data ({frame.source}) has no rows: only column names could be scanned")
    values: dict[str, list[Any]] = {}
    drawn = Sample(rows=0, scanned=0, total=total, seed=seed)
    if scanned_columns and total:
        values, _positions, drawn = sample_rows(
            frame, scanned_columns, size=_SCAN_LIMIT, seed=seed, total=total, scan_limit=_SCAN_LIMIT
        )
    rng = np.random.default_rng(seed)
    results = []
    for column in chosen:
        present = [v for v in values.get(column, []) if v is not None and not (isinstance(v, float) and np.isnan(v))]
        if len(present) > sample:
            present = [present[i] for i in np.sort(rng.choice(len(present), size=sample, replace=False))]
        numeric = kinds[column] in ("Integral", "Fractional")
        if numeric:
            present = [int(v) if isinstance(v, float) and v.is_integer() else v for v in present]
        # a number with a fractional part holds no identifier: its digits pass a checksum only by chance
        whole = [v for v in present if not (numeric and not isinstance(v, int))]
        found = _scan_values(column, whole, integral=numeric, min_score=min_score)
        results.append(
            ColumnPii(
                column=column,
                inferred_type=kinds[column],
                name_entities=entities_in_name(column),
                scanned=len(present),
                value_entities=found,
                id_form=sum(1 for v in whole if _id_form(str(v))),
                sensitive=tuple(sensitive_column(column, present)),
            )
        )
    return PiiScan(
        data=DataInfo(source=frame.source, engine=frame.engine, rows=total, columns=len(frame.columns)),
        columns=tuple(results),
        sample=drawn,
        per_column=sample,
        min_score=min_score,
        created_at=now(),
    )


def _scan_values(column: str, values: Sequence[Any], *, integral: bool, min_score: float) -> dict[str, int]:
    """Counts of values by entity type found in them (each distinct value analysed once)."""
    if not values:
        return {}
    engine = analyzer()
    context = [w for w in _normalise(column).split("_") if w]
    distinct: Mapping[str, int] = _tally(str(v) for v in values)
    counts: dict[str, int] = {}
    for text, n in distinct.items():
        candidates = _candidates(text)
        if not candidates:
            continue
        results = engine.analyze(
            text=text, language="en", entities=candidates, context=context or None, score_threshold=min_score
        )
        types = set()
        for result in _best(results):
            if integral and result.entity_type not in _VALIDATED:
                metadata = result.recognition_metadata or {}
                if not metadata.get("is_score_enhanced_by_context"):
                    continue
            types.add(result.entity_type)
        for entity in types:
            counts[entity] = counts.get(entity, 0) + n
    return counts


def _tally(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
