"""The PII scan: planted personal data is found by offline Presidio recognisers, counted by column and entity
type, never printed; real datasets give no false alarms; registering a dataset with the scan sets its PII flag."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.checks import entities_in_name, scan_pii
from assay.cli import main
from assay.errors import InvalidInput
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter


def luhn_number(rng: np.random.Generator, prefix: str, length: int = 16) -> str:
    digits = [int(d) for d in prefix] + [int(d) for d in rng.integers(0, 10, length - len(prefix) - 1)]
    total = 0
    for i, d in enumerate(reversed(digits)):  # the check digit will sit to the right: double every other digit
        doubled = d * 2 if i % 2 == 0 else d
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def german_iban(rng: np.random.Generator) -> str:
    bban = "".join(map(str, rng.integers(0, 10, 18)))
    check = 98 - int(bban + "131400") % 97  # D=13, E=14, check digits 00
    return f"DE{check:02d}{bban}"


def ssn(rng: np.random.Generator) -> str:
    return f"{rng.integers(100, 665)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}"


def planted(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    people = ["ana", "ben", "chloe", "dev", "eli", "fay"]
    return pd.DataFrame(
        {
            "contact": [f"{rng.choice(people)}.{i}@example.{rng.choice(['com', 'org', 'co.uk'])}" for i in range(n)],
            "card": [luhn_number(rng, str(rng.choice(["4", "51", "37"]))) for _ in range(n)],
            "account": [german_iban(rng) for _ in range(n)],
            "tax_ref": [ssn(rng) for _ in range(n)],
            "host": [".".join(str(rng.integers(1, 250)) for _ in range(4)) for _ in range(n)],
            "tel": [f"+1 212 555 {rng.integers(1000, 9999)}" for _ in range(n)],
            "notes": [f"write to x{i}@mail.com" if i % 8 == 0 else "no contact given" for i in range(n)],
            "amount": rng.integers(100, 10_000_000, n),
            "ratio": rng.random(n).round(4),
            "city": rng.choice(["Paris", "Rome", "Oslo"], n),
            "last_name": rng.choice(["Smith", "Jones", "Garcia"], n),
            "telephone": rng.choice(["yes", "no"], n),  # the name suggests a phone; the values are not phones
        }
    )


def test_planted_personal_data_is_found_by_column_and_type(tmp_path: Path) -> None:
    df = planted()
    path = tmp_path / "people.csv"
    df.to_csv(path, index=False)
    result = scan_pii(path, sample=100)
    by_column = {c.column: c for c in result.columns}
    expected = {
        "contact": "EMAIL_ADDRESS", "card": "CREDIT_CARD", "account": "IBAN_CODE", "tax_ref": "US_SSN",
        "host": "IP_ADDRESS", "tel": "PHONE_NUMBER",
    }  # fmt: skip
    for column, entity in expected.items():
        found = by_column[column]
        assert found.scanned == 100
        assert found.entities == (entity,), column
        assert found.value_entities[entity] >= 95, (column, found.value_entities)  # nearly every value
    notes = by_column["notes"]
    assert notes.entities == ("EMAIL_ADDRESS",)
    assert 5 <= notes.value_entities["EMAIL_ADDRESS"] <= 25  # one row in eight, in a sample of 100
    for column in ("amount", "ratio", "city", "telephone"):
        assert by_column[column].entities == (), (column, by_column[column].value_entities)
    assert by_column["telephone"].name_entities == ("PHONE_NUMBER",)  # named, not confirmed: not flagged
    assert by_column["last_name"].entities == ("PERSON",)  # names are found from the column name only
    assert result.pii
    assert result.categories == (
        "IP address", "bank account number", "email address", "national identification number",
        "payment card number", "person name", "phone number",
    )  # fmt: skip
    assert [c.column for c in result.flagged] == [*expected, "notes", "last_name"]
    document = result.to_dict()
    assert document["sample"]["total"] == len(df) and document["spec"]["values_per_column"] == 100


def test_no_value_is_ever_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = planted(60, seed=1)
    path = tmp_path / "people.parquet"
    df.to_parquet(path, index=False)
    out = tmp_path / "out"
    assert main(["check", "pii", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert main(["check", "pii", str(path), "--json"]) == 0
    printed += capsys.readouterr().out
    written = "".join(p.read_text() for p in out.iterdir())
    assert "EMAIL_ADDRESS" in printed and "CREDIT_CARD" in written
    secrets = [v for c in ("contact", "card", "account", "tax_ref", "host", "tel", "last_name") for v in df[c]]
    leaked = [v for v in secrets if str(v) in printed or str(v) in written]
    assert leaked == []


OFFLINE_SCRIPT = """
import json, socket, sys

class NetworkUsed(BaseException):  # not an Exception: no library can swallow it
    pass

def refuse(*args, **kwargs):
    raise NetworkUsed("the PII scan tried to use the network")

socket.getaddrinfo = refuse
socket.socket.connect = refuse
import pandas as pd
from assay.checks import scan_pii

df = pd.DataFrame({"mail": ["someone@example.com", "first.last@uni.ac.uk", "not an email"]})
print(json.dumps(scan_pii(df).columns[0].value_entities))
"""


def test_the_scan_runs_offline_with_nothing_cached(tmp_path: Path) -> None:
    """In a fresh process whose caches are empty and whose sockets refuse to connect: no spaCy model, no public
    suffix list fetched (tldextract's default extractor would fetch it here)."""
    cache = tmp_path / "tldextract"
    cache.mkdir()
    env = {**os.environ, "TLDEXTRACT_CACHE": str(cache), "XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {"EMAIL_ADDRESS": 2}
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "entities"),
    [
        ("email", ("EMAIL_ADDRESS",)),
        ("E-Mail Address", ("EMAIL_ADDRESS",)),
        ("customerPhone", ("PHONE_NUMBER",)),
        ("client_ip", ("IP_ADDRESS",)),
        ("ip_address", ("IP_ADDRESS",)),
        ("SSN", ("US_SSN",)),
        ("passport_no", ("NATIONAL_ID",)),
        ("first_name", ("PERSON",)),
        ("last", ("PERSON",)),
        ("dob", ("DATE_OF_BIRTH",)),
        ("home_address", ("LOCATION",)),
        ("zip", ("LOCATION",)),
        ("age", ()),
        ("filename", ()),
        ("PctForeignBorn", ()),
        ("NumStreet", ()),
        ("priors_count", ()),
    ],
)
def test_column_names(name: str, entities: tuple[str, ...]) -> None:
    assert entities_in_name(name) == entities


@pytest.mark.realdata
def test_real_datasets_give_no_false_alarms(shared_data: Path) -> None:
    compas = scan_pii(shared_data / "compas" / "compas-scores-two-years.csv", sample=60)
    assert {c.column: c.entities for c in compas.flagged} == {
        "name": ("PERSON",), "first": ("PERSON",), "last": ("PERSON",), "dob": ("DATE_OF_BIRTH",),
    }  # fmt: skip
    assert all(not c.value_entities for c in compas.columns)
    credit = scan_pii(shared_data / "credit_card_default" / "UCI_Credit_Card.csv", sample=100)
    assert not credit.pii and credit.categories == ()


def test_bad_scan_arguments() -> None:
    df = pd.DataFrame({"a": ["x"]})
    with pytest.raises(InvalidInput, match="min_score"):
        scan_pii(df, min_score=0)
    with pytest.raises(InvalidInput, match="column 'b'"):
        scan_pii(df, columns=["b"])


def test_registering_with_the_scan_sets_the_pii_flag(workspace: Workspace, tmp_path: Path) -> None:
    people, clean = tmp_path / "people.csv", tmp_path / "clean.csv"
    planted(80).to_csv(people, index=False)
    planted(80)[["amount", "ratio", "city"]].to_csv(clean, index=False)
    workspace.systems.create({"name": "crm"})
    version = workspace.datasets.register_version(
        {"dataset": "people", "version": "1", "personal_data_categories": ["health"], "pii": True},
        system="crm",
        file=people,
        scan_pii=True,
    )
    assert version.pii is True
    assert version.personal_data_categories == [
        "IP address", "bank account number", "email address", "health", "national identification number",
        "payment card number", "person name", "phone number",
    ]  # fmt: skip
    plain = workspace.datasets.register_version(
        {"dataset": "clean", "version": "1"}, system="crm", file=clean, scan_pii=True
    )
    assert plain.pii is False and plain.personal_data_categories == []
    event = workspace.audit.log(EventFilter(action="dataset_version.create"))[0]
    scan = dict(event.payload)["pii_scan"]
    assert scan["columns"]["card"] == ["CREDIT_CARD"]
    assert not any(value in json.dumps(scan) for value in planted(80)["contact"])
    with pytest.raises(InvalidInput, match="needs the dataset file"):
        workspace.datasets.register_version({"dataset": "x", "version": "1"}, system="crm", scan_pii=True)
    code = main(["--workspace", str(workspace.root), "dataset", "register", "people@2", "--system", "crm",
                 "--file", str(people), "--scan-pii", "--json"])  # fmt: skip
    assert code == 0
    assert workspace.datasets.get_version("people@2").pii is True


def test_sensitive_attributes_are_found_by_name_and_values_and_kept_apart_from_the_verdict() -> None:
    frame = pd.DataFrame(
        {
            "applicant_gender": ["Female", "Male", "Female", "Male"],
            "ethnicity": ["Hispanic", "White", "Black", "Asian"],
            "Faith": ["Christian", "Muslim", "none", "Jewish"],
            "HealthStatus": ["good", "poor", "good", "fair"],  # health: from the name only
            "union_member": [1, 0, 0, 1],
            "code": ["M", "F", "M", "F"],  # m/f alone, under a neutral name: not taken for sex
            "status": ["none", "other", "none", "other"],  # generic words only: nothing
            "comment": ["white car", "a black cat", "ok", "fine"],  # a word in free text: nothing
        }
    )
    document = scan_pii(frame).to_dict()
    found = {(s["column"], s["category"], tuple(s["found_by"])) for s in document["result"]["sensitive_columns"]}
    assert found == {
        ("applicant_gender", "sex or gender", ("name", "values")),
        ("ethnicity", "racial or ethnic origin", ("name", "values")),
        ("Faith", "religious or philosophical beliefs", ("name", "values")),
        ("HealthStatus", "health", ("name",)),
        ("union_member", "trade union membership", ("name",)),
    }
    assert document["result"]["special_category_data"] is True and document["status"] == "pass"  # not identifying
    assert (
        "special-category data (GDPR Art. 9) in Faith, HealthStatus, ethnicity, union_member" in (document["summary"])
    )
    assert "Hispanic" not in json.dumps(document)  # categories and columns, never a value


@pytest.mark.realdata
def test_sensitive_attributes_of_adult(shared_data: Path) -> None:
    from tests.support.adult import adult

    document = scan_pii(adult(shared_data, "data").iloc[:2000]).to_dict()
    found = {(s["column"], s["category"], s["gdpr_art9"]) for s in document["result"]["sensitive_columns"]}
    assert found == {("race", "racial or ethnic origin", True), ("sex", "sex or gender", False)}
