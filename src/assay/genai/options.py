"""The options of a generative evaluation (``genai-eval``), declared once: ``assay run genai-eval``, ``assay eval run``,
the server's request body and the job derive from them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from assay.frames.options import Options, Seed

__all__ = ["EvalOptions"]

Url = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://")]
Phrase = Annotated[str, Field(min_length=2, max_length=200)]


class EvalOptions(Options):
    """A generative model's answers to a test set in JSON Lines (prompts, optional source passages and reference
    answers, the expected behaviour: answer or refuse, slice labels, attack categories), scored per slice with
    confidence intervals: groundedness and relevance, refusal correctness (over- and under-refusal), PII leakage,
    prompt-attack success, exact and fuzzy match, length and latency; optionally through a guardrail policy."""

    endpoint: Url | None = Field(
        default=None,
        description="An OpenAI-compatible API's base URL (e.g. http://localhost:8000/v1), for a run on your own test "
        "set file; a registered run reads its endpoint from the model version's file instead.",
    )
    model_name: Annotated[str, Field(min_length=1, max_length=300)] | None = Field(
        default=None, description="The model name sent to the endpoint (with endpoint)."
    )
    api_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")] | None = Field(
        default=None,
        description="The environment variable holding the endpoint's API key (sent as a bearer token; the key itself "
        "is never stored).",
    )
    guardrail: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")] | None = Field(
        default=None,
        description="A guardrail policy of the workspace applied to every prompt before the call and every answer "
        "after it (compare runs with and without it).",
    )
    guardrail_version: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="The guardrail policy's version (default: its latest)."
    )
    disclosure: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        default=None,
        description="The disclosure text every answer must carry (EU AI Act Art. 50), scored as 'disclosed'; "
        "'system' takes the AI system's own disclosure text.",
    )
    corpus: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")] | None = Field(
        default=None,
        description="A protected corpus of the workspace: answers copying a verbatim span of it are counted "
        "(protected_content).",
    )
    corpus_min_words: Annotated[int, Field(ge=5, le=200)] = Field(
        default=12, description="A verbatim span at least this many words long is a copy of the protected corpus."
    )
    concurrency: Annotated[int, Field(ge=1, le=64)] = Field(default=4, description="Calls in flight at once.")
    retries: Annotated[int, Field(ge=0, le=10)] = Field(
        default=3, description="Retries of a call answered 408, 429 or 5xx, timed out or refused."
    )
    backoff: Annotated[float, Field(ge=0, le=60)] = Field(
        default=0.5, description="Seconds before the first retry, doubled at each (the server's Retry-After wins)."
    )
    timeout: Annotated[float, Field(gt=0, le=3600)] | None = Field(
        default=None, description="Seconds one call may take (default: the endpoint's, 60)."
    )
    max_requests: Annotated[int, Field(ge=1, le=10_000_000)] | None = Field(
        default=None, description="Budget: the most requests sent, retries included; the run stops cleanly there."
    )
    max_characters: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Budget: the most characters sent and received."
    )
    max_tokens: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Budget: the most tokens, as the endpoint reports them (usage)."
    )
    max_seconds: Annotated[float, Field(gt=0, le=7 * 86_400)] | None = Field(
        default=None, description="Budget: the most seconds of wall time; calls not started by then are skipped."
    )
    max_items: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=10_000, description="The most items a test set may hold (a larger one is refused, not cut)."
    )
    refusal_phrases: Annotated[list[Phrase], Field(max_length=200)] = Field(
        default=[],
        description="Extra phrases that mark an answer as a refusal (besides the built-in patterns and the guardrail's "
        "blocked messages).",
    )
    confidence: Annotated[float, Field(ge=0.5, le=0.999)] = Field(
        default=0.95, description="Level of the confidence intervals."
    )
    bootstrap: Annotated[int, Field(ge=100, le=100_000)] = Field(
        default=1000, description="Bootstrap replicates of the intervals of means (groundedness, length, latency, ...)."
    )
    seed: Seed = Field(default=0, description="Seed of the bootstrap.")

    @model_validator(mode="after")
    def _endpoint(self) -> EvalOptions:
        if self.endpoint is not None and self.model_name is None:
            raise ValueError("endpoint needs model_name: the model the endpoint serves")
        if self.endpoint is None and (self.model_name is not None or self.api_key_env is not None):
            raise ValueError("model_name and api_key_env go with endpoint")
        if self.guardrail_version is not None and self.guardrail is None:
            raise ValueError("guardrail_version goes with guardrail")
        return self
