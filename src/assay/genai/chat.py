"""What a generative evaluation runs against: an OpenAI-compatible chat endpoint or a Python callable, called for many
prompts at once with bounded concurrency, retries and a budget.

A *target* is any callable ``target(prompt, context) -> Answer | str``: ``context`` is the item's source passages
(possibly empty). Two are built in:

- :class:`OpenAIChat`: ``POST {url}/chat/completions`` of an OpenAI-compatible server (OpenAI, vLLM, llama.cpp,
  Ollama, Assay's own guarding proxy), described by an :class:`Endpoint` (``kind: openai-chat``, ``url``, ``model``,
  ``headers_env``: each header's value read from the environment variable named, so no secret is ever stored in a
  file, a model version or a document). The context passages go into a system message (numbered, after the
  endpoint's own ``system_prompt``), the prompt is the user message. The answer's ``usage`` is read when the server
  reports it.
- :class:`CallableTarget`: a Python function ``(prompt, context) -> str``.

:func:`call_all` calls a target for every prompt with at most ``concurrency`` calls in flight (threads: httpx's client
is thread-safe and the callables people write are plain functions), retrying a :class:`Retryable` failure (HTTP 408,
429, 500, 502, 503, 504, a timeout, a refused connection) up to ``retries`` times after ``backoff * 2**attempt``
seconds (or the server's ``Retry-After``, at most 60 s). A :class:`Budget` (requests, characters, tokens when
reported, seconds) stops the run cleanly: calls not yet started are skipped, the calls in flight finish, and the
outcome says which limit stopped it. Each reply carries its latency (the last attempt's, in milliseconds).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assay.errors import InvalidInput

__all__ = [
    "REGISTERED_ENV_PREFIX",
    "RETRY_STATUSES",
    "Answer",
    "Budget",
    "CallableTarget",
    "ChatTarget",
    "Endpoint",
    "OpenAIChat",
    "Outcome",
    "Reply",
    "Retryable",
    "TargetError",
    "call_all",
    "parse_endpoint",
    "read_endpoint",
]

RETRY_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
ENDPOINT_KINDS: Final = ("openai-chat",)
#: On registered inputs (a job on the server) a header's value is read only from a variable with this prefix: an
#: endpoint file registered by a user must not send the worker's other secrets (its database URL, cloud keys) away.
REGISTERED_ENV_PREFIX: Final = "ASSAY_ENDPOINT_"
MAX_RETRY_AFTER: Final = 60.0
_HEADER = r"^[A-Za-z0-9-]{1,100}$"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]{0,199}$"


class Retryable(Exception):
    """A failure worth trying again (a status of :data:`RETRY_STATUSES`, a timeout, a refused connection);
    ``retry_after`` is the server's ``Retry-After`` in seconds, when it said one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TargetError(Exception):
    """A failure not worth retrying (a 4xx other than 408/429, an answer that is not a chat completion)."""


@dataclass(frozen=True)
class Answer:
    """What a target answered: the text, and the tokens the server counted when it reports ``usage``."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def tokens(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)


class ChatTarget(Protocol):
    """A target: ``(prompt, context passages) -> Answer`` (or the text)."""

    def __call__(self, prompt: str, context: Sequence[str]) -> Answer | str: ...


class Endpoint(BaseModel):
    """An OpenAI-compatible chat endpoint, as a model version's stored file describes it (JSON or YAML)::

        {"kind": "openai-chat", "url": "http://llm.internal:8000/v1", "model": "llama-3.1-8b-instruct",
         "headers_env": {"Authorization": "ASSAY_ENDPOINT_LLM_AUTH"}, "system_prompt": "You answer ...",
         "temperature": 0, "max_tokens": 512, "timeout": 60}

    ``url`` is the API's base (``/chat/completions`` is added); ``headers_env`` maps a header to the environment
    variable holding its value (``Authorization: Bearer ...`` in ``ASSAY_ENDPOINT_LLM_AUTH``; on registered inputs
    only ``ASSAY_ENDPOINT_`` variables): a secret is never stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["openai-chat"] = "openai-chat"
    url: Annotated[str, Field(min_length=8, max_length=2000)]
    model: Annotated[str, Field(min_length=1, max_length=300)]
    headers_env: dict[Annotated[str, Field(pattern=_HEADER)], Annotated[str, Field(pattern=_ENV)]] = Field(
        default_factory=dict, max_length=20
    )
    system_prompt: Annotated[str, Field(max_length=100_000)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = 0.0
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    timeout: Annotated[float, Field(gt=0, le=3600)] = 60.0

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def describe(self) -> dict[str, Any]:
        """The endpoint as documents show it: the URL, the model and the names of the headers (never values)."""
        return {"kind": self.kind, "url": self.url, "model": self.model, "headers": sorted(self.headers_env)}


def parse_endpoint(text: str, source: str = "the endpoint file") -> Endpoint:
    """An :class:`Endpoint` from JSON or YAML text; every problem names its field."""
    import yaml

    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{source} is neither JSON nor YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{source} must be an object with kind ({', '.join(ENDPOINT_KINDS)}), url and model")
    try:
        return Endpoint.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top)"
            problems.append(f"{where}: {error['msg']}")
        raise InvalidInput(f"{source}: " + "; ".join(problems)) from None


def read_endpoint(path: str | Path) -> Endpoint:
    """The :class:`Endpoint` a file describes."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the endpoint file {str(file)!r}: {exc}") from None
    return parse_endpoint(text, f"endpoint file {file.name!r}")


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None


class OpenAIChat:
    """An OpenAI-compatible chat endpoint as a target (see the module's docstring). The headers are read from the
    environment once, here: a variable that is not set is an :class:`InvalidInput` naming it; with ``env_prefix``
    (runs on registered inputs: :data:`REGISTERED_ENV_PREFIX`) only variables of that prefix may be named."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        concurrency: int = 4,
        environ: Mapping[str, str] | None = None,
        timeout: float | None = None,
        env_prefix: str | None = None,
    ) -> None:
        import httpx

        env = os.environ if environ is None else environ
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for header, variable in endpoint.headers_env.items():
            if env_prefix is not None and not variable.startswith(env_prefix):
                raise InvalidInput(
                    f"the endpoint's header {header} names the environment variable {variable}: on registered inputs "
                    f"a header is read only from a variable named {env_prefix}... (set {env_prefix}{variable} and "
                    "name it in the endpoint file)"
                )
            value = env.get(variable)
            if value is None:
                raise InvalidInput(
                    f"the endpoint's header {header} is read from the environment variable {variable}, which is not "
                    "set: set it where the evaluation runs"
                )
            headers[header] = value
        self.endpoint = endpoint
        self.name = f"{endpoint.model} at {endpoint.url}"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(headers=headers, timeout=timeout or endpoint.timeout, limits=limits)

    def close(self) -> None:
        self._client.close()

    def messages(self, prompt: str, context: Sequence[str]) -> list[dict[str, str]]:
        """The chat messages of one call: the system prompt and the numbered sources, then the prompt."""
        system = self.endpoint.system_prompt or ""
        if context:
            sources = "\n".join(f"[{i}] {passage}" for i, passage in enumerate(context, 1))
            system = (system + "\n\n" if system else "") + f"Answer from these sources:\n{sources}"
        out = [{"role": "system", "content": system}] if system else []
        return [*out, {"role": "user", "content": prompt}]

    def __call__(self, prompt: str, context: Sequence[str]) -> Answer:
        import httpx

        body: dict[str, Any] = {"model": self.endpoint.model, "messages": self.messages(prompt, context)}
        if self.endpoint.temperature is not None:
            body["temperature"] = self.endpoint.temperature
        if self.endpoint.max_tokens is not None:
            body["max_tokens"] = self.endpoint.max_tokens
        url = f"{self.endpoint.url}/chat/completions"
        try:
            response = self._client.post(url, json=body)
        except httpx.TimeoutException as exc:
            raise Retryable(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise Retryable(f"could not reach {url}: {exc}") from None
        if response.status_code in RETRY_STATUSES:
            raise Retryable(
                f"HTTP {response.status_code}", retry_after=_retry_after(response.headers.get("Retry-After"))
            )
        if response.status_code >= 400:
            raise TargetError(f"HTTP {response.status_code}: {response.text[:200].strip()}")
        try:
            data = response.json()
            text = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise TargetError(f"the answer of {url} is not a chat completion: {response.text[:200]!r}") from None
        usage = data.get("usage") if isinstance(data, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        return Answer(
            text="" if text is None else str(text),
            prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None,
            completion_tokens=completion_tokens if isinstance(completion_tokens, int) else None,
        )


class CallableTarget:
    """A Python function ``(prompt, context) -> str`` (or :class:`Answer`) as a target; its exceptions are failures of
    the item (not retried unless they are :class:`Retryable`)."""

    def __init__(self, function: Callable[[str, Sequence[str]], Answer | str], name: str | None = None) -> None:
        if not callable(function):
            raise InvalidInput("the target must be callable as target(prompt, context)")
        self.function = function
        self.name = name or getattr(function, "__qualname__", type(function).__name__)

    def __call__(self, prompt: str, context: Sequence[str]) -> Answer:
        answer = self.function(prompt, context)
        if isinstance(answer, Answer):
            return answer
        if not isinstance(answer, str):
            raise TargetError(f"the target answered a {type(answer).__name__}, not text")
        return Answer(answer)


@dataclass(frozen=True)
class Budget:
    """Limits of one run: requests sent (retries included), characters sent and received, tokens (when the server
    reports them) and seconds of wall time. ``None`` is no limit."""

    max_requests: int | None = None
    max_characters: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_requests": self.max_requests,
            "max_characters": self.max_characters,
            "max_tokens": self.max_tokens,
            "max_seconds": self.max_seconds,
        }


@dataclass(frozen=True)
class Reply:
    """One prompt's call: ``status`` ``ok`` (``answer`` set), ``error`` (the last failure in ``error``) or ``skipped``
    (not sent: the budget was spent or the run was stopped); ``latency_ms`` is the last attempt's."""

    status: Literal["ok", "error", "skipped"]
    answer: Answer | None = None
    latency_ms: float | None = None
    attempts: int = 0
    error: str | None = None


@dataclass
class Outcome:
    """What :func:`call_all` did: one reply per prompt (in order) and what was spent; ``stopped`` names the limit
    that stopped the run (``max_requests``, ``max_characters``, ``max_tokens``, ``max_seconds``), if one did."""

    replies: list[Reply]
    requests: int = 0
    retried: int = 0
    characters: int = 0
    tokens: int = 0
    seconds: float = 0.0
    stopped: str | None = None
    budget: Budget = field(default_factory=Budget)

    def to_dict(self) -> dict[str, Any]:
        counts = {status: sum(r.status == status for r in self.replies) for status in ("ok", "error", "skipped")}
        return {
            "items": len(self.replies),
            **counts,
            "requests": self.requests,
            "retried": self.retried,
            "characters": self.characters,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "budget": self.budget.to_dict(),
        }


class _Spend:
    """The budget's counters, shared by the worker threads."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.requests = 0
        self.retried = 0
        self.characters = 0
        self.tokens = 0
        self.stopped: str | None = None
        self.halt = threading.Event()  # set when the budget is spent or the run is stopped

    def stop(self, reason: str) -> None:
        with self.lock:
            if self.stopped is None:
                self.stopped = reason
        self.halt.set()

    def take_request(self, retry: bool) -> bool:
        """Reserve one request, or say the budget is spent (and stop the run)."""
        budget = self.budget
        with self.lock:
            if self.halt.is_set():
                return False
            reason = None
            if budget.max_seconds is not None and time.monotonic() - self.started >= budget.max_seconds:
                reason = "max_seconds"
            elif budget.max_requests is not None and self.requests >= budget.max_requests:
                reason = "max_requests"
            elif budget.max_characters is not None and self.characters >= budget.max_characters:
                reason = "max_characters"
            elif budget.max_tokens is not None and self.tokens >= budget.max_tokens:
                reason = "max_tokens"
            if reason is not None:
                self.stopped = self.stopped or reason
                self.halt.set()
                return False
            self.requests += 1
            self.retried += int(retry)
            return True

    def spend(self, characters: int, tokens: int | None) -> None:
        with self.lock:
            self.characters += characters
            self.tokens += tokens or 0


def _call_one(
    target: ChatTarget, prompt: str, context: Sequence[str], spend: _Spend, retries: int, backoff: float
) -> Reply:
    sent = len(prompt) + sum(len(passage) for passage in context)
    error = None
    latency = None
    for attempt in range(retries + 1):
        if not spend.take_request(retry=attempt > 0):
            if attempt == 0:
                return Reply("skipped")
            return Reply("error", latency_ms=latency, attempts=attempt, error=f"{error} (then the budget ran out)")
        started = time.perf_counter()
        try:
            raw = target(prompt, context)
        except Retryable as exc:
            latency = (time.perf_counter() - started) * 1000
            error = str(exc)
            spend.spend(sent, None)
            if attempt < retries:
                wait_for = exc.retry_after if exc.retry_after is not None else backoff * 2**attempt
                wait_for *= 1 + random.random() * 0.1  # a little jitter: retries of many threads do not align
                if spend.halt.wait(wait_for):
                    return Reply("error", latency_ms=latency, attempts=attempt + 1, error=f"{error} (stopped)")
            continue
        except TargetError as exc:
            spend.spend(sent, None)
            return Reply("error", latency_ms=(time.perf_counter() - started) * 1000, attempts=attempt + 1,
                         error=str(exc))  # fmt: skip
        except Exception as exc:  # a callable target's own failure: the item fails, the run goes on
            spend.spend(sent, None)
            return Reply("error", latency_ms=(time.perf_counter() - started) * 1000, attempts=attempt + 1,
                         error=f"{type(exc).__name__}: {exc}"[:500])  # fmt: skip
        latency = (time.perf_counter() - started) * 1000
        answer = raw if isinstance(raw, Answer) else Answer(str(raw))
        spend.spend(sent + len(answer.text), answer.tokens)
        return Reply("ok", answer=answer, latency_ms=latency, attempts=attempt + 1)
    return Reply("error", latency_ms=latency, attempts=retries + 1, error=f"{error} (after {retries} retries)")


def call_all(
    target: ChatTarget,
    prompts: Sequence[tuple[str, Sequence[str]]],
    *,
    concurrency: int = 4,
    retries: int = 3,
    backoff: float = 0.5,
    budget: Budget | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Call ``target`` for every ``(prompt, context)`` (see the module's docstring). ``progress(done, total)`` is
    called from this thread after each reply; if it raises (a cancelled job), the calls not started are dropped, the
    ones in flight are awaited and the exception goes on."""
    if concurrency < 1:
        raise InvalidInput(f"concurrency {concurrency} must be at least 1")
    if retries < 0 or backoff < 0:
        raise InvalidInput("retries and backoff must not be negative")
    chosen = budget or Budget()
    spend = _Spend(chosen)
    replies: list[Reply | None] = [None] * len(prompts)
    total = len(prompts)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="assay-eval") as pool:
        pending: dict[Future[Reply], int] = {}
        queue = iter(range(total))

        def top_up() -> None:
            while len(pending) < concurrency * 2 and not spend.halt.is_set():
                index = next(queue, None)
                if index is None:
                    return
                prompt, context = prompts[index]
                pending[pool.submit(_call_one, target, prompt, context, spend, retries, backoff)] = index

        top_up()
        done_count = 0
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    replies[pending.pop(future)] = future.result()
                    done_count += 1
                if progress is not None:
                    progress(done_count, total)
                top_up()
        except BaseException:
            spend.stop("stopped")
            for future in pending:
                future.cancel()
            raise
    outcome = Outcome(
        replies=[r if r is not None else Reply("skipped") for r in replies],
        requests=spend.requests,
        retried=spend.retried,
        characters=spend.characters,
        tokens=spend.tokens,
        seconds=time.monotonic() - spend.started,
        stopped=spend.stopped,
        budget=chosen,
    )
    return outcome
