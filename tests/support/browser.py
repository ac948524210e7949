"""What a browser test checks on every page it visits: ``check_page(page, name)``.

Three checks, on the page as it is when called (navigate and wait first):

1. **Accessibility**: axe-core (the ``axe.min.js`` that the ``axe-playwright-python`` package carries, injected into
   the page) runs its WCAG 2.x A/AA and best-practice rules at 1280 and at 390 px wide; any violation of impact
   *serious* or *critical* fails
   the test, with each rule, its help text and the elements it found. Moderate and minor findings are returned,
   not failed. The pages' Content Security Policy forbids inline scripts, so the page must belong to a context made
   by :func:`new_context` (Playwright's ``bypass_csp=True``).
2. **Screenshots** at 1280 and 390 px wide (whole page), kept as artefacts in ``test-artifacts/screenshots/``
   (``{name}-1280.png``, ``{name}-390.png``, and axe-core's findings of every impact in ``{name}-axe.json``; the
   folder is ignored by git).
3. **No sideways scroll at 390 px**: ``document.documentElement.scrollWidth <= window.innerWidth``; a failure names
   the elements that stick out on the right (a table must scroll inside its ``.table-wrap``, never the page).

The page is left at 1280 px wide. Use it in any browser test::

    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{base}/systems/release")
    check_page(page, "system-release")
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.env import ROOT

SHOTS = ROOT / "test-artifacts" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
FAILING_IMPACTS = ("serious", "critical")

# The elements whose right edge passes the window's (the outermost of each, at most 8), for a failure's message.
_STICKING_OUT = """() => {
  const width = window.innerWidth, found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && !found.some(outer => outer.contains(el))) {
      let scrolls = false;  // inside a box that scrolls by itself (a .table-wrap): not the page's problem
      for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) { scrolls = true; break; }
      }
      if (!scrolls) found.push(el);
    }
  }
  return found.slice(0, 8).map(el => {
    const id = el.id ? '#' + el.id : '', cls = el.classList.length ? '.' + [...el.classList].join('.') : '';
    return `${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(el.getBoundingClientRect().right)} px)`;
  });
}"""


def new_context(browser: Any, **options: Any) -> Any:
    """A browser context for pages that :func:`check_page` checks: 1280 px wide, with the page's CSP bypassed so
    that axe-core can be injected (the server's CSP is tested elsewhere, on its headers)."""
    return browser.new_context(bypass_csp=True, viewport=WIDE, **options)


@cache
def axe_script() -> str:
    """axe-core's source, from the ``axe-playwright-python`` package (a dev dependency)."""
    from axe_playwright_python.base import AXE_FILE_PATH

    return Path(AXE_FILE_PATH).read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is (WCAG 2.0-2.2 A and AA, and best practices)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    options = {"resultTypes": ["violations"],
               "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                     "best-practice"]}}  # fmt: skip
    result: dict[str, Any] = page.evaluate("options => axe.run(document, options)", options)
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    """The violations for people: each rule, its impact and help, and the first elements it found."""
    lines = []
    for violation in violations:
        width = f" at {violation['width']} px" if "width" in violation else ""
        rule = f"{violation['id']} ({violation['impact']}){width}"
        lines.append(f"- {rule}: {violation['help']} [{violation['helpUrl']}]")
        for node in violation["nodes"][:5]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]} -- {summary[:300]}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    ... and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"


def check_page(page: Any, name: str) -> list[dict[str, Any]]:
    """The three checks of this module on ``page`` (named ``name`` in its screenshots' file names and in failure
    messages). Fails (AssertionError) on a serious or critical accessibility violation or on sideways scrolling at
    390 px; returns the moderate and minor violations (for a test that wants to look at them)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    stem = _file_name(name)
    page.set_viewport_size(WIDE)
    violations = [{**v, "width": WIDE["width"]} for v in axe_violations(page)]
    page.screenshot(path=str(SHOTS / f"{stem}-1280.png"), full_page=True)
    page.set_viewport_size(NARROW)
    page.wait_for_function("() => window.innerWidth === 390")
    page.wait_for_timeout(150)  # the resize event's work (charts redrawn at the new width)
    scroll_width, inner_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    sticking_out = [] if scroll_width <= inner_width else page.evaluate(_STICKING_OUT)
    page.screenshot(path=str(SHOTS / f"{stem}-390.png"), full_page=True)
    seen = {(v["id"], tuple(map(str, n["target"]))) for v in violations for n in v["nodes"]}
    for violation in axe_violations(page):  # what only the narrow layout has (a table that scrolls in its box)
        nodes = [n for n in violation["nodes"] if (violation["id"], tuple(map(str, n["target"]))) not in seen]
        if nodes:
            violations.append({**violation, "nodes": nodes, "width": NARROW["width"]})
    (SHOTS / f"{stem}-axe.json").write_text(json.dumps(violations, indent=1), encoding="utf-8")
    page.set_viewport_size(WIDE)
    serious = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    problems = []
    if serious:
        problems.append(f"{len(serious)} serious or critical accessibility violations:\n{describe(serious)}")
    if scroll_width > inner_width:
        problems.append(
            f"the page scrolls sideways at {inner_width} px wide (it is {scroll_width} px wide); sticking out: "
            + ("; ".join(sticking_out) or "(nothing found outside a scrolling box)")
        )
    assert not problems, f"page {name!r} ({page.url}):\n" + "\n".join(problems)
    return [v for v in violations if v["impact"] not in FAILING_IMPACTS]
