"""``assay eval``: evaluate a generative model on a test set in JSON Lines (``run``) and compare two evaluations with
a paired test per slice and metric (``compare``).

``assay eval run TESTS.jsonl --endpoint URL --model-name NAME`` (or ``--endpoint-file FILE``) runs on your own test
set file (``--system`` records the result, as ``assay run`` does); ``assay eval run --system S --dataset-version
D@V --model-version M@V`` runs on registered inputs (the model version's stored file describes the endpoint) and
records it, exactly as the server's job does. The options are the ``genai-eval`` kind's (``assay run genai-eval``
takes the same by name)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._options import progress_bar
from assay.cli._shell import open_workspace, print_json
from assay.errors import InvalidInput
from assay.genai.options import EvalOptions as O

__all__ = ["compare", "eval_app", "redteam", "register", "run"]

_NO_PHRASES: list[str] = O.default("refusal_phrases")  # the model's default (none), read once

eval_app = typer.Typer(
    help="Evaluate generative models: a test set in JSON Lines against an OpenAI-compatible endpoint, scores per "
    "slice with intervals; compare two versions with a paired test.",
    no_args_is_help=True,
)


def _guardrail_from_file(path: Path) -> Any:
    from assay.genai.policy import parse_guard_policy
    from assay.services.genai.guard import file_guardrail

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--guardrail-file {str(path)!r}: cannot read it ({exc})") from None
    return file_guardrail(parse_guard_policy(text, f"guardrail policy {path.name!r}"))


def _guardrail_from_workspace(workspace: Any, name: str, version: int | None) -> Any:
    service = getattr(workspace.genai, "guard", None)
    if service is None:
        raise InvalidInput(f"--guardrail {name}: this Assay has no guardrail policy service; give --guardrail-file")
    return service.guardrail(name, version)


def _report(document: dict[str, Any], paths: dict[str, Path], as_json: bool, quiet: bool) -> None:
    if as_json:
        print_json(document)
    elif not quiet:
        typer.echo(f"{document['status']}: {document['summary']}")
        for note in document.get("warnings") or []:
            typer.echo(f"note: {note['message']}", err=True)
    for name, path in paths.items():
        typer.echo(f"{name}: {path}", err=as_json)


@eval_app.command("run")
def run(
    ctx: typer.Context,
    tests: Annotated[
        Path | None,
        typer.Argument(
            help="The test set, JSON Lines (omit with --dataset-version: a registered one).", show_default=False
        ),
    ] = None,
    endpoint: Annotated[str | None, typer.Option(help=O.help("endpoint"), show_default=False)] = None,
    model_name: Annotated[str | None, typer.Option(help=O.help("model_name"), show_default=False)] = None,
    api_key_env: Annotated[str | None, typer.Option(help=O.help("api_key_env"), show_default=False)] = None,
    endpoint_file: Annotated[
        Path | None,
        typer.Option(
            help="A file describing the endpoint (kind, url, model, headers_env), JSON or YAML.", show_default=False
        ),
    ] = None,
    guardrail: Annotated[str | None, typer.Option(help=O.help("guardrail"), show_default=False)] = None,
    guardrail_version: Annotated[int | None, typer.Option(help=O.help("guardrail_version"), show_default=False)] = None,
    guardrail_file: Annotated[
        Path | None, typer.Option(help="A guardrail policy file (YAML) applied around the target.", show_default=False)
    ] = None,
    disclosure: Annotated[str | None, typer.Option(help=O.help("disclosure"), show_default=False)] = None,
    corpus: Annotated[str | None, typer.Option(help=O.help("corpus"), show_default=False)] = None,
    corpus_min_words: Annotated[int, typer.Option(help=O.help("corpus_min_words"))] = O.default("corpus_min_words"),
    concurrency: Annotated[int, typer.Option(help=O.help("concurrency"))] = O.default("concurrency"),
    retries: Annotated[int, typer.Option(help=O.help("retries"))] = O.default("retries"),
    backoff: Annotated[float, typer.Option(help=O.help("backoff"))] = O.default("backoff"),
    timeout: Annotated[float | None, typer.Option(help=O.help("timeout"), show_default=False)] = None,
    max_requests: Annotated[int | None, typer.Option(help=O.help("max_requests"), show_default=False)] = None,
    max_characters: Annotated[int | None, typer.Option(help=O.help("max_characters"), show_default=False)] = None,
    max_tokens: Annotated[int | None, typer.Option(help=O.help("max_tokens"), show_default=False)] = None,
    max_seconds: Annotated[float | None, typer.Option(help=O.help("max_seconds"), show_default=False)] = None,
    max_items: Annotated[int, typer.Option(help=O.help("max_items"))] = O.default("max_items"),
    refusal_phrases: Annotated[
        list[str], typer.Option("--refusal-phrase", help=O.help("refusal_phrases"))
    ] = _NO_PHRASES,
    confidence: Annotated[float, typer.Option(help=O.help("confidence"))] = O.default("confidence"),
    bootstrap: Annotated[int, typer.Option(help=O.help("bootstrap"))] = O.default("bootstrap"),
    seed: Annotated[int, typer.Option(help=O.help("seed"))] = O.default("seed"),
    out: Annotated[
        Path | None, typer.Option(help="Folder for genai_eval.json and report.html.", show_default=False)
    ] = None,
    system: Annotated[
        str | None, typer.Option(help="Record the result in the workspace against this AI system.", show_default=False)
    ] = None,
    model_version: Annotated[
        str | None,
        typer.Option(
            help="The model version, MODEL@VERSION (needs --system); without TESTS its file is the endpoint.",
            show_default=False,
        ),
    ] = None,
    dataset_version: Annotated[
        str | None,
        typer.Option(help="The test set's dataset version, DATASET@VERSION (needs --system).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result document as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the output paths.")] = False,
) -> None:
    """Evaluate a generative model on a test set: refusals, attacks, PII, groundedness, matches, length, latency.

    Scores per slice with intervals (Wilson for proportions, bootstrap for means). With TESTS, the target is --endpoint
    (with --model-name) or --endpoint-file; without, the registered --dataset-version and --model-version (its stored
    file describes the endpoint) are run and recorded."""
    from assay.services import compute as runs

    options = O.parse(
        {"endpoint": endpoint, "model_name": model_name, "api_key_env": api_key_env, "guardrail": guardrail,
         "guardrail_version": guardrail_version, "disclosure": disclosure, "corpus": corpus,
         "corpus_min_words": corpus_min_words, "concurrency": concurrency, "retries": retries, "backoff": backoff,
         "timeout": timeout, "max_requests": max_requests, "max_characters": max_characters, "max_tokens": max_tokens,
         "max_seconds": max_seconds, "max_items": max_items, "refusal_phrases": list(refusal_phrases),
         "confidence": confidence, "bootstrap": bootstrap, "seed": seed},
        "assay eval run", flags=True,
    )  # fmt: skip
    if guardrail is not None and guardrail_file is not None:
        raise InvalidInput("give --guardrail (a policy of the workspace) or --guardrail-file, not both")
    kind = runs.kind_of("genai-eval")
    if tests is None:  # registered inputs: run and record as the server's job does
        if system is None or dataset_version is None or model_version is None:
            raise InvalidInput(
                "give the test set file, or --system with --dataset-version and --model-version (registered inputs)"
            )
        if endpoint_file is not None or guardrail_file is not None:
            raise InvalidInput("a registered run takes its endpoint from the model version and its guardrail by name")
        registered = open_workspace(ctx)
        target = runs.Target(system=system, dataset_version=dataset_version, model_version=model_version)
        with progress_bar(quiet or as_json, kind.title) as progress:
            done = registered.runs.run(kind, target, options, out=out, progress=progress)
        _report(done.document, done.paths if out is not None else {}, as_json, quiet)
        typer.echo(f"recorded: assessment {done.recorded.id} of {system} in {registered.home}", err=as_json)
        return
    if endpoint is not None and endpoint_file is not None:
        raise InvalidInput("give --endpoint (with --model-name) or --endpoint-file, not both")
    if (model_version or dataset_version) and system is None:
        raise InvalidInput("--model-version and --dataset-version need --system: the AI system to record against")
    workspace = open_workspace(ctx) if system is not None or guardrail is not None else None
    if workspace is not None and system is not None:
        workspace.assessments.check_target(system, model_version=model_version, dataset_version=dataset_version)
    inputs = runs.Inputs(data=tests, model=endpoint_file)
    if workspace is not None and system is not None:  # the system's disclosure text, the protected corpus
        inputs.extra.update(workspace.genai.evaluations.checks(system, options))
    if guardrail_file is not None:
        inputs.extra["guardrail"] = _guardrail_from_file(guardrail_file)
    elif guardrail is not None:
        inputs.extra["guardrail"] = _guardrail_from_workspace(workspace, guardrail, guardrail_version)
    with progress_bar(quiet or as_json, kind.title) as progress:
        inputs.progress = progress
        result = runs.compute(kind, inputs, options)
        paths = runs.write(kind, result, out) if out is not None else {}
    _report(result.to_dict(), paths, as_json, quiet)
    if workspace is not None and system is not None:
        recorded = workspace.runs.record(
            kind, system, result, paths=paths, model_version=model_version, dataset_version=dataset_version
        )
        typer.echo(f"recorded: assessment {recorded.id} of {system} in {workspace.home}", err=as_json)


def _document(ctx: typer.Context, given: str, system: str | None) -> dict[str, Any]:
    """An evaluation's document: a recorded assessment's id (with --system), a genai_eval.json or its folder."""
    if system is not None:
        try:
            number = int(given)
        except ValueError:
            raise InvalidInput(f"{given!r}: with --system, give the ids of two recorded evaluations") from None
        return open_workspace(ctx).genai.evaluations.document(system, number)
    path = Path(given)
    path = path / "genai_eval.json" if path.is_dir() else path
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read the evaluation {given!r}: {exc}") from None
    if not isinstance(loaded, dict):
        raise InvalidInput(f"{given!r} is not an evaluation document (a JSON object)")
    return loaded


@eval_app.command("compare")
def compare(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="Evaluation A (the baseline): genai_eval.json, its folder, or an id.")],
    b: Annotated[str, typer.Argument(help="Evaluation B (the candidate), as A.")],
    system: Annotated[
        str | None, typer.Option(help="A and B are ids of evaluations recorded for this system.", show_default=False)
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level, after Holm's adjustment over all tests.")] = 0.05,
    out: Annotated[
        Path | None, typer.Option(help="Folder for comparison.json and comparison.html.", show_default=False)
    ] = None,
    fail_on_worse: Annotated[
        bool, typer.Option("--fail-on-worse", help="Exit 1 when B is worse than A on any metric or slice.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison document as JSON.")] = False,
) -> None:
    """Compare two evaluations of the same test set: a paired test per slice and metric (McNemar, Wilcoxon).

    Says where B is worse or better than A with the p-value (Holm-adjusted over every test of the comparison)."""
    from assay.genai.evaluate import compare as paired

    document = paired(_document(ctx, a, system), _document(ctx, b, system), alpha=alpha)
    if as_json:
        print_json(document)
    else:
        typer.echo(f"{document['pairs']} paired items; " + ("B is worse than A" if document["worse"] else
                                                           "B is not worse than A") + f" at alpha {alpha}")  # fmt: skip
        for finding in document["findings"]:
            typer.echo(f"- {finding}")
    if out is not None:
        from assay.reports.genai_eval import write_comparison

        for name, path in write_comparison(document, out).items():
            typer.echo(f"{name}: {path}", err=as_json)
    if fail_on_worse and document["worse"]:
        raise typer.Exit(1)


@eval_app.command("redteam")
def redteam(
    write: Annotated[Path, typer.Option("--write", help="The JSON Lines file the suite is written to.")],
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="A guardrail policy file: its denied topics become 'denied-topic' prompts."),
    ] = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Keep only this category (repeatable).")
    ] = None,
) -> None:
    """Write Assay's red-team suite (attack prompts by category, each expecting a refusal) as a test set: run it with
    ``assay eval run`` against the model, with and without ``--guardrail``, and read attack success per category."""
    from assay.genai.redteam import suite

    items = suite(policy, categories=category or None)
    write.parent.mkdir(parents=True, exist_ok=True)
    with write.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for item in items:
        counts[item["attack"]] = counts.get(item["attack"], 0) + 1
    typer.echo(f"{len(items)} prompts written to {write}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def register(app: typer.Typer) -> None:
    """Add ``assay eval`` to the root app."""
    app.add_typer(eval_app, name="eval")
