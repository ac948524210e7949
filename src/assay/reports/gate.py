"""A gate decision rendered for CI: JUnit XML (one test case per rule) and a Markdown summary for pull requests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

__all__ = ["render_gate_junit", "render_gate_markdown"]

_ICON = {"passed": "✅", "failed": "❌", "waived": "⚠️"}


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _findings(result: Mapping[str, Any]) -> str:
    lines = []
    for finding in result["findings"]:
        mark = "ok" if finding["passed"] else "FAIL"
        note = f" ({finding['note']})" if finding["note"] else ""
        interval = finding.get("interval")
        shown = _short(finding["observed"]) + (f" [{_short(interval[0])}, {_short(interval[1])}]" if interval else "")
        lines.append(f"{mark}  {finding['where']}: {shown}{note}")
    return "\n".join(lines)


def render_gate_junit(decision: Mapping[str, Any]) -> str:
    """JUnit XML: a failed rule is a ``failure``, a waived rule is ``skipped`` with the waiver's reason."""
    results = decision["results"]
    suite = ET.Element(
        "testsuite",
        name=f"assay gate {decision['system']} {decision['ref']} ({decision['policy']['name']})",
        tests=str(len(results)),
        failures=str(sum(r["status"] == "failed" for r in results)),
        skipped=str(sum(r["status"] == "waived" for r in results)),
        errors="0",
        timestamp=decision["created_at"],
    )
    for result in results:
        case = ET.SubElement(suite, "testcase", classname=f"assay.gate.{result['kind']}", name=result["rule"])
        details = _findings(result)
        if result["status"] == "failed":
            failure = ET.SubElement(case, "failure", message=result["message"], type="PolicyRuleFailed")
            failure.text = details
        elif result["status"] == "waived":
            waiver = result["waiver"] or {}
            reason = f"waived by {waiver.get('waived_by')} until {waiver.get('expires')}: {waiver.get('reason')}"
            ET.SubElement(case, "skipped", message=reason)
        if details:
            ET.SubElement(case, "system-out").text = f"{result['message']}\n{details}"
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def render_gate_markdown(decision: Mapping[str, Any]) -> str:
    """A pull-request comment: the outcome, then one row per rule."""
    results = decision["results"]
    counts = {s: sum(r["status"] == s for r in results) for s in ("passed", "failed", "waived")}
    outcome = "PASSED" if decision["passed"] else "FAILED"
    lines = [
        f"### Assay gate {outcome}: {_md(decision['system'])} / {_md(decision['ref'])} → {decision['stage']}",
        "",
        f"Policy **{_md(decision['policy']['name'])}** (sha256 `{decision['policy']['sha256'][:12]}`): "
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['waived']} waived.",
        "",
        "| | rule | kind | result |",
        "|---|---|---|---|",
    ]
    for result in results:
        text = _md(result["message"])
        if result["status"] == "waived" and result["waiver"]:
            w = result["waiver"]
            text += f" — waived by {_md(w['waived_by'])} until {w['expires']}: {_md(w['reason'])}"
        lines.append(f"| {_ICON[result['status']]} | `{_md(result['rule'])}` | {result['kind']} | {text} |")
    failing = [r for r in results if r["status"] == "failed" and r["findings"]]
    if failing:
        lines += ["", "<details><summary>Failed findings</summary>", ""]
        for result in failing:
            lines += [f"**{_md(result['rule'])}**", "", "```", _findings(result), "```", ""]
        lines.append("</details>")
    lines += ["", f"Run {decision['id']} recorded in the audit ledger at {decision['created_at']}."]
    return "\n".join(lines) + "\n"
