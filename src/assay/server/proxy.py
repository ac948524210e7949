"""The guarding proxy: an OpenAI-compatible chat endpoint that applies a guardrail policy in front of another one.

An application changes only its base URL (``http://127.0.0.1:8080/v1`` instead of its model server's, which may be
vLLM, llama.cpp, Ollama or any server speaking the OpenAI chat API):

- ``POST /v1/chat/completions``: the text of every user message and of every tool result (``role: "tool"``, and the
  deprecated ``"function"``: what a tool returned is untrusted text, where indirect prompt injection lives), a
  string or the ``text`` parts of a list, is guarded as the ``INPUT`` before the upstream is called; a null
  ``content`` (an assistant message that only calls tools) is skipped, and the conversation's system and assistant
  messages are not judged (the application's own, and outputs already judged). A blocked prompt never reaches the
  upstream: the answer is the policy's ``messages.blocked_input`` as the assistant's message with
  ``finish_reason: "content_filter"``. A masked prompt (or tool result) is forwarded masked. The response is then
  guarded as the ``OUTPUT``: whole when it is not streamed; when it is (``stream: true``), on sentence boundaries:
  the text is buffered until a sentence ends, the sentence is guarded (with the text sent so far as its context;
  the sentences that arrived in one chunk together), then sent, masked where the policy masks. When a sentence is
  blocked nothing more of that choice is forwarded:
  the policy's ``messages.blocked_output`` is sent and the choice finishes with ``content_filter`` (the upstream
  connection is closed once every choice has finished).
- Tool calls in a response (``tool_calls``, and the deprecated ``function_call``) are output too: their
  ``arguments`` are guarded as the ``OUTPUT`` (without the grounding sources: arguments are not claims to ground),
  one decision per choice besides its text's. A blocked call is not forwarded: the choice becomes the policy's
  ``messages.blocked_output`` with ``content_filter``; masked arguments are forwarded masked (and blocked if masking
  left JSON arguments unreadable). Streamed, a choice's tool calls are held until it finishes, then judged and sent
  whole in one delta (each call with its ``id``, ``name`` and all its ``arguments``).
- Where the policy requires a disclosure (``disclosure.required``), its text (or the system's) is added to every
  assistant message the proxy returns (before or after the text, ``disclosure.placement``), unless it is there; not
  to a message that only calls tools (the application reads it, not a person).
- Every response carries a machine-readable marker: an ``assay`` object in the JSON (for a stream, in a last chunk
  with no choices, before ``data: [DONE]``) with the policy, its version, the input's and each output's action and
  reason (``tool_calls``: the action and reason on a choice's tool calls), the disclosure and ``ai_generated``;
  and the header ``X-Assay-Guardrail`` (policy, version, input action, output action, ``streamed`` for a stream).
- Other paths under ``/v1/`` (``/v1/models``, ``/v1/embeddings``, ...) are passed through unchanged, except the
  endpoints that generate text the proxy does not guard (``/v1/completions``, ``/v1/responses``, ...), which are
  refused (404) rather than left open. ``GET /assay/guardrail`` describes the proxy.

Sources and conversation: a request may carry an ``assay`` object (``{"sources": [...], "conversation": "..."}``,
removed before forwarding) with the passages a response must be grounded in and the conversation's id (pseudonyms
stay consistent within one; the header ``X-Assay-Conversation`` works too). The grounding check's query is the last
user message (not a tool result after it).

Every decision (the input's, and each output's as one decision per choice, plus one for a choice's tool calls) is
passed to ``record(result, channel="proxy", ...)``, the workspace's guard service in ``assay guard proxy``. Upstream
failures become OpenAI-shaped errors (``{"error": {"message", "type", "code"}}``): unreachable 502, timeout 504, the
upstream's own errors passed on with their status; a failure in the middle of a stream is sent as an ``error``
event. Request bodies and the number of messages are bounded (413 and 400). The proxy does not authenticate
applications: bind it to loopback or put it behind the network's access control. With ``api_key`` the proxy calls
the upstream with its own key (``Authorization: Bearer``), else it forwards the application's ``Authorization``
header.

Starlette (FastAPI's base) serves it, without FastAPI's validation layer: the proxy must pass on fields it does not
know. aiohttp's ``ClientSession`` calls the upstream (pooled keep-alive connections, streaming, separate connect and
read timeouts): its compiled HTTP parser and pool cost a third of httpx's CPU per streamed answer (measured:
benchmarks/RESULTS.md, "Guardrails: the proxy"), and the second hop is most of what the proxy spends.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import aiohttp
import anyio
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from yarl import URL

from assay.errors import InvalidInput
from assay.genai.disclosure import SEPARATOR, disclosed, disclosure_text
from assay.genai.guard import Finding, Guardrail, GuardResult

__all__ = ["GUARDRAIL_HEADER", "ProxyLimits", "Recorder", "create_proxy_app", "sentences"]

log = logging.getLogger("assay.proxy")

GUARDRAIL_HEADER: Final = "X-Assay-Guardrail"
#: A decision recorder: ``record(result, channel="proxy", content=..., system=...)``.
Recorder = Callable[..., object]
#: The first segment of the paths under /v1/ that generate text the proxy does not guard (refused, not passed on).
UNGUARDED: Final = frozenset({"completions", "responses", "messages", "assistants", "threads", "realtime", "audio"})
#: The most choices (``n``) one request may ask for.
MAX_CHOICES: Final = 128
#: How much of the text already sent is given as the context of the next sentence (characters).
CONTEXT_CHARACTERS: Final = 4000
#: The roles whose messages are guarded as the input: the user's, and the tools' results (untrusted text).
INPUT_ROLES: Final = frozenset({"user", "tool", "function"})
#: A streamed sentence longer than this is judged at its last space before it (bounds the buffer and the delay).
MAX_SENTENCE: Final = 2000
#: After ``data: [DONE]`` the rest of the upstream's body is read for at most this long (seconds) and this many lines
#: (normally there is nothing but its end) before the connection is given back to the pool; beyond either, it is closed.
DRAIN_SECONDS: Final = 1.0
DRAIN_LINES: Final = 100
#: The longest line of the upstream's event stream (bytes): a longer one ends the answer with an error.
MAX_EVENT_LINE: Final = 16 * 2**20
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|[。！？]+|\n+")
_CHUNK_FIELDS: Final = ("id", "created", "model", "system_fingerprint")  # carried to every chunk sent
_FORWARDED_HEADERS: Final = ("openai-organization", "openai-project", "user-agent", "accept-language")
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "upgrade", "te", "trailer"}
)


@dataclass(frozen=True)
class ProxyLimits:
    """The proxy's bounds: the request body (bytes), the messages in one request, the upstream's timeouts
    (seconds: to connect, and to wait for each part of the answer)."""

    max_body_bytes: int = 4 * 2**20
    max_messages: int = 1000
    connect_timeout: float = 10.0
    timeout: float = 120.0


class _Refused(Exception):
    def __init__(self, status: int, message: str, code: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.kind = status, message, code, kind


def _error_body(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def sentences(buffer: str, *, final: bool = False) -> tuple[list[str], str]:
    """The whole sentences at the start of ``buffer`` (each with the space after it) and what remains. A sentence
    ends at ``.``, ``!``, ``?`` or ``…`` followed by whitespace (closing quotes and brackets kept with it), at
    ``。！？`` and at line breaks. A remainder longer than :data:`MAX_SENTENCE` is cut at its last whitespace;
    ``final``: the remainder is a sentence too (the stream ended)."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(buffer):
        out.append(buffer[start : match.end()])
        start = match.end()
    rest = buffer[start:]
    while len(rest) > MAX_SENTENCE:
        cut = max(rest.rfind(" ", 0, MAX_SENTENCE), rest.rfind("\n", 0, MAX_SENTENCE))
        cut = cut + 1 if cut > 0 else MAX_SENTENCE
        out.append(rest[:cut])
        rest = rest[cut:]
    if final and rest:
        out.append(rest)
        rest = ""
    return out, rest


def _masked(text: str, findings: Sequence[Finding]) -> str:
    """``text`` with the spans of its ANONYMIZED findings replaced (the first, longest at a start, wins)."""
    spans = sorted(
        (
            (f.span, f.replacement)
            for f in findings
            if f.action == "ANONYMIZED" and f.span and f.replacement is not None
        ),
        key=lambda s: (s[0][0], -s[0][1]),
    )
    out, end = [], 0
    for (start, stop), replacement in spans:
        if start >= end:
            out += [text[end:start], replacement]
            end = stop
    return "".join(out) + text[end:]


def _reason(findings: Sequence[Finding]) -> str:
    blocked = next((f for f in findings if f.action == "BLOCKED"), None)
    if blocked is not None:
        return f"blocked by {blocked.section}: {blocked.type}"
    masked = sorted({f.type for f in findings if f.action == "ANONYMIZED"})
    return "masked " + ", ".join(masked) if masked else ""


@dataclass
class _Streamed:
    """One choice of a streamed response as it is guarded sentence by sentence."""

    buffer: str = ""
    sent: str = ""
    judged: str = ""  # the sentences judged, as the upstream sent them
    findings: list[Finding] = field(default_factory=list)
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    latency_ms: float = 0.0
    characters: int = 0
    started: bool = False  # something was sent (the prepended disclosure goes before it)
    done: bool = False
    blocked: bool = False
    tools: dict[int, dict[str, Any]] = field(default_factory=dict)  # tool calls held until the choice finishes
    function_call: dict[str, Any] | None = None  # the deprecated single call, held likewise
    tool_result: GuardResult | None = None  # the decision on the tool calls' arguments
    calls_blocked: bool = False

    def hold(self, delta: Mapping[str, Any]) -> None:
        """Add a delta's tool-call fragments to the calls held (OpenAI streams a call's ``arguments`` in pieces)."""
        for position, fragment in enumerate(delta.get("tool_calls") or []):
            if not isinstance(fragment, dict):
                continue
            index = fragment.get("index", position)
            call = self.tools.setdefault(index, {"index": index, "function": {"name": "", "arguments": ""}})
            for key in ("id", "type"):
                if fragment.get(key) is not None:
                    call[key] = fragment[key]
            _extend(call["function"], fragment.get("function"))
        if isinstance(delta.get("function_call"), dict):
            self.function_call = self.function_call or {"name": "", "arguments": ""}
            _extend(self.function_call, delta["function_call"])

    @property
    def calls_only(self) -> bool:
        """The choice calls tools and has said nothing (no disclosure is added to it)."""
        held = bool(self.tools or self.function_call)
        return held and not self.sent.strip() and not self.blocked and not self.calls_blocked


def _extend(function: dict[str, Any], fragment: Any) -> None:
    if isinstance(fragment, dict):
        for key in ("name", "arguments"):
            if isinstance(fragment.get(key), str):
                function[key] = function[key] + fragment[key]


def _calls(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``function`` objects (``name``, ``arguments``) of a message's tool calls and deprecated function call whose
    arguments are a text (the objects themselves: masking writes into them)."""
    functions = [c.get("function") for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    functions.append(message.get("function_call"))
    return [f for f in functions if isinstance(f, dict) and isinstance(f.get("arguments"), str)]


def _readable(before: str, after: str) -> bool:
    """Masking left the arguments as readable as they were (JSON stays JSON)."""
    try:
        json.loads(before)
    except ValueError:
        return True
    try:
        json.loads(after)
    except ValueError:
        return False
    return True


class _Proxy:
    def __init__(
        self,
        guardrail: Guardrail,
        upstream: str,
        record: Recorder | None,
        api_key: str | None,
        limits: ProxyLimits,
        system: str | None,
        flush: Callable[[], object] | None = None,
    ) -> None:
        self.guardrail = guardrail
        self.policy = guardrail.policy
        self.upstream = upstream.rstrip("/")
        # what the proxy shows of the upstream (describe, errors): never credentials written into the URL
        self.shown = str(URL(self.upstream).with_user(None))
        self.record_decision = record
        self.api_key = api_key
        self.limits = limits
        self.system = system
        self.flush = flush
        self.disclosure = disclosure_text(guardrail.policy, guardrail.context.disclosure)
        self.placement: Literal["prepend", "append"] = (
            guardrail.policy.disclosure.placement if guardrail.policy.disclosure else "append"
        )
        # embeddings take milliseconds of numpy per call: run those off the event loop; keyword checks run inline
        self.offload = any(method == "embeddings" for method in guardrail.methods.values())
        self.session: aiohttp.ClientSession | None = None

    # ---- life ---------------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512, limit_per_host=0),
            # connect: waiting for a pooled connection and opening it; sock_connect: the TCP (and TLS) handshake
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=self.limits.timeout,
                sock_connect=self.limits.connect_timeout,
                sock_read=self.limits.timeout,
            ),
            trust_env=True,  # HTTP(S)_PROXY and NO_PROXY from the environment, as with httpx before
        )
        try:
            yield
        finally:
            await self.session.close()
            self.session = None
            if self.flush is not None:  # the decisions still buffered (uvicorn ends the process after the lifespan)
                try:
                    self.flush()
                except Exception:
                    log.exception("the buffered guardrail decisions could not be written")

    # ---- helpers ------------------------------------------------------------------------------------------------

    async def apply(self, source: Literal["INPUT", "OUTPUT"], content: str | list[str], **kw: Any) -> GuardResult:
        if self.offload:
            return await anyio.to_thread.run_sync(lambda: self.guardrail.apply(source, content, **kw))
        return self.guardrail.apply(source, content, **kw)

    def record(self, result: GuardResult, content: str | list[str], conversation: str | None) -> None:
        """Pass the decision to the recorder; ``content`` (what was judged, as the application or the upstream sent
        it: the recorder masks it) only when the policy keeps content."""
        if self.record_decision is None:
            return
        extra: dict[str, Any] = {"channel": "proxy"}
        if self.policy.recording.keep_content:
            extra["content"] = content
        if self.system is not None:
            extra["system"] = self.system
        if conversation is not None:
            extra["conversation"] = conversation
        try:
            self.record_decision(result, **extra)
        except Exception:  # recording must never break the application's call
            log.exception("the guardrail decision could not be recorded")

    def header(self, input_action: str, output: str) -> dict[str, str]:
        version = "" if self.guardrail.version is None else f" version={self.guardrail.version};"
        value = f"{self.policy.name};{version} input={input_action}; output={output}"
        return {GUARDRAIL_HEADER: value}

    def marker(
        self,
        input_result: GuardResult | None,
        outputs: Sequence[tuple[int, GuardResult | None]],
        generated: bool,
        tools: Mapping[int, GuardResult] | None = None,
    ) -> dict[str, Any]:
        output = []
        for i, r in outputs:
            entry: dict[str, Any] = {
                "index": i, "action": "NONE" if r is None else r.action, "reason": "" if r is None else r.reason
            }  # fmt: skip
            if tools and i in tools:
                entry["tool_calls"] = {"action": tools[i].action, "reason": tools[i].reason}
            output.append(entry)
        return {
            "policy": self.policy.name,
            "version": self.guardrail.version,
            "input": None if input_result is None else {"action": input_result.action, "reason": input_result.reason},
            "output": output,
            "disclosure": {"required": self.disclosure is not None, "placement": self.placement}
            if self.disclosure
            else {"required": False},
            "ai_generated": generated,
        }

    def disclose(self, text: str) -> str:
        if self.disclosure is None or disclosed(text, self.disclosure):
            return text
        if not text.strip():
            return self.disclosure
        if self.placement == "prepend":
            return self.disclosure + SEPARATOR + text
        return text + SEPARATOR + self.disclosure

    async def body(self, request: Request) -> bytes:
        limit = self.limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Refused(413, f"the request body has {declared} bytes, more than the limit of {limit}", "too_large")
        chunks, size = [], 0
        async for part in request.stream():
            size += len(part)
            if size > limit:
                raise _Refused(413, f"the request body is more than the limit of {limit} bytes", "too_large")
            chunks.append(part)
        return b"".join(chunks)

    def upstream_headers(self, request: Request) -> dict[str, str]:
        headers = {k: v for k in _FORWARDED_HEADERS if (v := request.headers.get(k)) is not None}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        elif "authorization" in request.headers:
            headers["authorization"] = request.headers["authorization"]
        return headers

    async def send(
        self, method: str, path: str, *, data: bytes, headers: Mapping[str, str], query: str = ""
    ) -> aiohttp.ClientResponse:
        """The upstream's response to ``method`` on its ``path`` (its headers read; the body is read by the caller,
        who closes it), or the failure as an OpenAI-shaped refusal (502 unreachable, 504 timeout)."""
        assert self.session is not None, "the proxy's lifespan has not started"
        url = URL(f"{self.upstream}/{path}")
        if query:  # the application's query string, as it was encoded
            url = URL(f"{url}?{query}", encoded=True)
        try:
            return await self.session.request(method, url, data=data, headers=headers, allow_redirects=False)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self.failure(exc) from None

    def failure(self, exc: Exception) -> _Refused:
        if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors (and ClientErrors)
            return _Refused(
                504,
                f"the upstream {self.shown} did not answer in time ({type(exc).__name__})",
                "upstream_timeout",
                "upstream_error",
            )
        return _Refused(
            502,
            f"the upstream {self.shown} is not reachable: {type(exc).__name__}: {exc}",
            "upstream_unreachable",
            "upstream_error",
        )

    # ---- routes -------------------------------------------------------------------------------------------------

    async def describe(self, request: Request) -> Response:
        return JSONResponse(
            {
                "policy": self.policy.name,
                "version": self.guardrail.version,
                "sections": list(self.policy.sections),
                "methods": dict(self.guardrail.methods),
                "upstream": self.shown,
                "disclosure": self.disclosure,
                "placement": self.placement,
            }
        )

    async def chat(self, request: Request) -> Response:
        raw = await self.body(request)
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Refused(400, "the request body is not JSON", "invalid_json") from None
        if not isinstance(body, dict):
            raise _Refused(400, "the request body must be a JSON object with messages", "invalid_request")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Refused(400, "messages: a non-empty list of messages is required", "invalid_messages")
        if len(messages) > self.limits.max_messages:
            raise _Refused(
                400,
                f"messages: {len(messages)} messages, more than the limit of {self.limits.max_messages}",
                "too_many_messages",
            )
        extension = body.pop("assay", None) or {}
        if not isinstance(extension, dict):
            raise _Refused(400, "assay: an object with sources and conversation is expected", "invalid_request")
        sources = extension.get("sources") or []
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise _Refused(400, "assay.sources: a list of texts is expected", "invalid_request")
        conversation = extension.get("conversation") or request.headers.get("x-assay-conversation")
        if conversation is not None and not (isinstance(conversation, str) and len(conversation) <= 200):
            raise _Refused(400, "assay.conversation: a text of at most 200 characters is expected", "invalid_request")

        # the input: the text of every user message and tool result, one block each
        places: list[tuple[int, int | None]] = []
        blocks: list[str] = []
        query_block: int | None = None  # the last block of a user message: the grounding check's query
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise _Refused(400, f"messages[{i}]: an object with role and content is expected", "invalid_messages")
            role = message.get("role")
            if role not in INPUT_ROLES:
                continue
            content = message.get("content")
            if isinstance(content, str):
                places.append((i, None))
                blocks.append(content)
            elif isinstance(content, list):
                for j, part in enumerate(content):
                    if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                        places.append((i, j))
                        blocks.append(part["text"])
            elif content is not None:
                raise _Refused(400, f"messages[{i}].content: a text or a list of parts is expected", "invalid_messages")
            if role == "user" and places and places[-1][0] == i:
                query_block = len(blocks) - 1
        stream = bool(body.get("stream"))
        choices = body.get("n") or 1
        if not isinstance(choices, int) or not 1 <= choices <= MAX_CHOICES:
            raise _Refused(400, f"n: a whole number from 1 to {MAX_CHOICES} is expected", "invalid_request")
        input_result: GuardResult | None = None
        if blocks:
            try:
                input_result = await self.apply("INPUT", blocks, conversation=conversation)
            except InvalidInput as exc:
                raise _Refused(400, str(exc), "invalid_content") from None
            self.record(input_result, blocks, conversation)
            if input_result.blocked:
                return self.canned(body, input_result, stream, choices)
            if input_result.masked:
                for (i, part), text in zip(places, input_result.outputs, strict=True):
                    if part is None:
                        messages[i] = {**messages[i], "content": text}
                    else:
                        parts = list(messages[i]["content"])
                        parts[part] = {**parts[part], "text": text}
                        messages[i] = {**messages[i], "content": parts}
        query = None if input_result is None or query_block is None else input_result.outputs[query_block]
        judged = {"sources": tuple(sources), "query": query, "conversation": conversation}
        headers = {**self.upstream_headers(request), "content-type": "application/json"}
        response = await self.send("POST", "chat/completions", data=json.dumps(body).encode(), headers=headers)
        if response.status != 200 or not stream:
            try:
                data = await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise self.failure(exc) from None
            finally:
                response.release()  # back to the pool (closed instead when the body was not read to its end)
            if response.status != 200:
                return self.upstream_error(response.status, data, input_result)
            return await self.whole(data, input_result, judged)
        input_action = "NONE" if input_result is None else input_result.action
        return StreamingResponse(
            self.stream(response, input_result, judged, choices),
            media_type="text/event-stream",
            headers={**self.header(input_action, "streamed"), "Cache-Control": "no-cache"},
            background=BackgroundTask(_close, response),
        )

    def upstream_error(self, status: int, data: bytes, input_result: GuardResult | None) -> Response:
        try:
            payload = json.loads(data)
        except ValueError:
            payload = None
        if not (isinstance(payload, dict) and isinstance(payload.get("error"), dict | str)):
            text = data.decode("utf-8", "replace")[:500]
            payload = _error_body(f"the upstream answered {status}: {text}", "upstream_error", "upstream_status")
        action = "NONE" if input_result is None else input_result.action
        return JSONResponse(payload, status, headers=self.header(action, "NONE"))

    def canned(self, body: dict[str, Any], input_result: GuardResult, stream: bool, choices: int) -> Response:
        """The answer to a blocked prompt: the policy's message, finished with content_filter (nothing upstream)."""
        text = self.disclose(self.policy.messages.blocked_input)
        ident, created, model = f"chatcmpl-assay-{time.time_ns():x}", int(time.time()), body.get("model") or ""
        marker = self.marker(input_result, [(i, None) for i in range(choices)], generated=False)
        headers = self.header(input_result.action, "NONE")
        if not stream:
            return JSONResponse(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": i,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "content_filter",
                            "logprobs": None,
                        }
                        for i in range(choices)
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    "assay": marker,
                },
                headers=headers,
            )

        async def events() -> AsyncIterator[bytes]:
            base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
            for i in range(choices):
                delta = {"role": "assistant", "content": text}
                yield _event({**base, "choices": [{"index": i, "delta": delta, "finish_reason": "content_filter"}]})
            yield _event({**base, "choices": [], "assay": marker})
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    async def judge_calls(self, functions: list[dict[str, Any]], conversation: str | None) -> GuardResult:
        """The decision on tool calls' ``arguments`` (recorded), masked arguments written into ``functions``; a
        result that blocks when masking would leave JSON arguments unreadable."""
        texts = [f["arguments"] for f in functions]
        result = await self.apply("OUTPUT", texts, conversation=conversation)
        if result.masked and not result.blocked:
            if all(_readable(before, after) for before, after in zip(texts, result.outputs, strict=True)):
                for function, text in zip(functions, result.outputs, strict=True):
                    function["arguments"] = text
            else:
                unreadable = "masking would leave the tool-call arguments unreadable: withheld"
                findings = result.findings
                blocked = tuple(replace(f, action="BLOCKED") if f.action == "ANONYMIZED" else f for f in findings)
                result = replace(result, findings=blocked, outputs=(self.policy.messages.blocked_output,),
                                 reason=f"{result.reason}; {unreadable}")  # fmt: skip
        self.record(result, texts, conversation)
        return result

    async def whole(self, data: bytes, input_result: GuardResult | None, judged: dict[str, Any]) -> Response:
        """A response that was not streamed: each choice's message guarded whole (its text, and its tool calls'
        arguments as a decision of their own)."""
        try:
            payload = json.loads(data)
        except ValueError:
            raise _Refused(502, "the upstream's answer is not JSON", "upstream_invalid", "upstream_error") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
            raise _Refused(502, "the upstream's answer has no choices", "upstream_invalid", "upstream_error")
        outputs: list[tuple[int, GuardResult | None]] = []
        tools: dict[int, GuardResult] = {}
        for position, choice in enumerate(payload["choices"]):
            index = choice.get("index", position) if isinstance(choice, dict) else position
            message = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(message, dict):
                outputs.append((index, None))
                continue
            content = message.get("content")
            result: GuardResult | None = None
            functions = _calls(message)
            try:
                if isinstance(content, str):
                    result = await self.apply("OUTPUT", content, **judged)
                    self.record(result, content, judged["conversation"])
                if functions:
                    tools[index] = await self.judge_calls(functions, judged["conversation"])
            except InvalidInput as exc:
                raise _Refused(502, f"the upstream's answer: {exc}", "upstream_invalid", "upstream_error") from None
            outputs.append((index, result))  # None: no text to judge (a message that only calls tools)
            if (result is not None and result.blocked) or (index in tools and tools[index].blocked):
                message["content"] = self.policy.messages.blocked_output
                message.pop("tool_calls", None)
                message.pop("function_call", None)
                choice["finish_reason"] = "content_filter"
            elif result is not None and result.masked:
                message["content"] = result.text
            calls_only = bool(message.get("tool_calls") or message.get("function_call"))
            text = message.get("content")
            if isinstance(text, str) and (text.strip() or not calls_only):  # not to a message for the application
                message["content"] = self.disclose(text)
        payload["assay"] = self.marker(input_result, outputs, generated=True, tools=tools)
        input_action = "NONE" if input_result is None else input_result.action
        intervened = any(r is not None and r.action != "NONE" for r in [*(r for _, r in outputs), *tools.values()])
        return JSONResponse(
            payload, headers=self.header(input_action, "GUARDRAIL_INTERVENED" if intervened else "NONE")
        )

    # ---- streaming ----------------------------------------------------------------------------------------------

    async def judge(self, state: _Streamed, sentence: str, judged: dict[str, Any]) -> str | None:
        """The sentence as it may be sent (masked where the policy masks), or None when it is blocked."""
        context = state.sent[-CONTEXT_CHARACTERS:]
        if len(state.sent) > CONTEXT_CHARACTERS:  # start the context at a word
            space = context.find(" ")
            context = context[space + 1 :] if space >= 0 else ""
        result = await self.apply("OUTPUT", context + sentence, **judged)
        offset, before = len(context), state.characters
        state.latency_ms += result.latency_ms
        state.characters += len(sentence)
        state.judged += sentence
        new: list[Finding] = []
        for finding in result.findings:
            if finding.span is None:
                key = (finding.section, finding.kind, finding.type)
                if finding.action == "BLOCKED" or key not in state.seen:
                    state.seen.add(key)
                    new.append(finding)
            elif finding.span[1] > offset and (finding.span[0] >= offset or finding.action == "BLOCKED"):
                start, end = max(finding.span[0] - offset, 0), finding.span[1] - offset
                new.append(replace(finding, span=(start, end), block=0))
        # the findings are kept with their spans in the whole response as the upstream sent it
        state.findings += [replace(f, span=(f.span[0] + before, f.span[1] + before)) if f.span else f for f in new]
        if any(f.action == "BLOCKED" for f in new):
            state.blocked = True
            return None
        out = _masked(sentence, new) if any(f.action == "ANONYMIZED" for f in new) else sentence
        state.sent += out
        return out

    def streamed_result(self, state: _Streamed) -> GuardResult:
        findings = tuple(state.findings)
        action: Literal["NONE", "GUARDRAIL_INTERVENED"] = (
            "GUARDRAIL_INTERVENED" if any(f.action in ("BLOCKED", "ANONYMIZED") for f in findings) else "NONE"
        )
        text = self.policy.messages.blocked_output if state.blocked else state.sent
        return GuardResult(
            policy=self.policy.name,
            source="OUTPUT",
            action=action,
            outputs=(text,),
            findings=findings,
            sections=tuple(c.section for c in self.guardrail.checks),
            characters=state.characters,
            latency_ms=state.latency_ms,
            reason=_reason(findings),
            version=self.guardrail.version,
            methods=self.guardrail.methods,
        )

    async def stream(
        self, response: aiohttp.ClientResponse, input_result: GuardResult | None, judged: dict[str, Any], choices: int
    ) -> AsyncIterator[bytes]:
        states: dict[int, _Streamed] = {}
        base: dict[str, Any] = {"object": "chat.completion.chunk"}
        failed: dict[str, Any] | None = None
        kind = response.headers.get("content-type", "")
        if not kind.startswith("text/event-stream"):  # a server that ignores stream: say so, not an empty answer
            message = f"the upstream {self.shown} answered a stream request with {kind or 'no content type'}"
            failed = _error_body(message, "upstream_error", "upstream_invalid")
        pieces = _event_data(response.content.iter_any()) if failed is None else _no_pieces()
        ended = False  # the upstream sent data: [DONE]
        try:
            async for piece in pieces:  # the events that arrived together are sent on together (one write)
                out_events: list[bytes] = []
                stop = False
                try:
                    for data in piece:
                        if data == b"[DONE]":
                            ended = stop = True
                            break
                        try:
                            chunk = json.loads(data)
                        except ValueError:
                            failed = _error_body(
                                "the upstream sent an event that is not JSON", "upstream_error", "upstream_invalid"
                            )
                            stop = True
                            break
                        if not isinstance(chunk, dict):
                            continue
                        base.update({k: chunk[k] for k in _CHUNK_FIELDS if k in chunk})
                        if "error" in chunk:
                            failed = {"error": chunk["error"]}
                            stop = True
                            break
                        parts = chunk.get("choices")
                        if not parts:  # the usage chunk
                            out_events.append(_event(chunk))
                            continue
                        out = []
                        for position, part in enumerate(parts):
                            if not isinstance(part, dict):
                                continue
                            index = part.get("index", position)
                            state = states.setdefault(index, _Streamed())
                            if state.done:
                                continue
                            sent = await self.advance(state, part, judged)
                            if sent is not None:
                                out.append(sent)
                        if out:
                            out_events.append(_event({**base, "choices": out}))
                        done = len(states) >= choices and all(s.done for s in states.values())
                        if done and any(s.blocked for s in states.values()):
                            stop = True  # stop the upstream's generation: nothing more of it would be forwarded
                            break
                except InvalidInput as exc:  # the guardrail's bound: the events judged before it still go
                    failed = _error_body(f"the upstream's answer: {exc}", "upstream_error", "upstream_invalid")
                    stop = True
                if out_events:
                    yield b"".join(out_events)
                if stop:
                    break
        except TimeoutError as exc:  # before ClientError: aiohttp's timeouts are both
            refused = self.failure(exc)
            failed = _error_body(refused.message, refused.kind, refused.code)
        except aiohttp.ClientError as exc:
            message = f"the upstream {self.shown} broke off its answer: {type(exc).__name__}: {exc}"
            failed = _error_body(message, "upstream_error", "upstream_broken")
        except InvalidInput as exc:  # a line of the event stream over its bound
            failed = _error_body(f"the upstream's answer: {exc}", "upstream_error", "upstream_invalid")
        if failed is None:
            try:
                for index, state in sorted(states.items()):  # the upstream ended a choice without finishing it
                    if not state.done:
                        end = {"index": index, "delta": {}, "finish_reason": "stop"}
                        sent = await self.advance(state, end, judged)
                        if sent is not None:
                            yield _event({**base, "choices": [sent]})
            except InvalidInput as exc:
                failed = _error_body(f"the upstream's answer: {exc}", "upstream_error", "upstream_invalid")
        if failed is not None:
            yield _event(failed)
        outputs: list[tuple[int, GuardResult | None]] = []
        for index, state in sorted(states.items()):
            result = self.streamed_result(state)
            self.record(result, state.judged, judged["conversation"])
            outputs.append((index, result))
        tools = {i: state.tool_result for i, state in states.items() if state.tool_result is not None}
        marker = self.marker(input_result, outputs, generated=True, tools=tools)
        yield _event({**base, "choices": [], "assay": marker})
        yield b"data: [DONE]\n\n"
        if ended:
            await _drain(pieces)

    async def advance(self, state: _Streamed, part: dict[str, Any], judged: dict[str, Any]) -> dict[str, Any] | None:
        """What of one choice's chunk may be sent now (None: nothing), its text guarded by sentence, its tool calls
        held until it finishes and then judged and sent whole."""
        delta = part.get("delta") if isinstance(part.get("delta"), dict) else {}
        assert isinstance(delta, dict)
        content = delta.get("content")
        finish = part.get("finish_reason")
        state.hold(delta)
        pieces: list[str] = []
        if isinstance(content, str) and content:
            state.buffer += content
        whole, state.buffer = sentences(state.buffer, final=finish is not None)
        if len(whole) > 1:  # the sentences that arrived together are judged together (one pass of the checks)
            whole = ["".join(whole)]
        for sentence in whole:
            out = await self.judge(state, sentence, judged)
            if out is None:  # blocked: the canned message ends this choice
                blocked = self.policy.messages.blocked_output
                pieces.append((SEPARATOR if state.sent.strip() else "") + blocked)
                finish, state.buffer = "content_filter", ""
                break
            pieces.append(out)
        calls: dict[str, Any] = {}
        if finish is not None and not state.blocked and (state.tools or state.function_call):
            calls = await self.release(state, judged)
            if state.calls_blocked:
                pieces.append((SEPARATOR if state.sent.strip() else "") + self.policy.messages.blocked_output)
                finish = "content_filter"
        disclose = self.disclosure is not None and not state.calls_only
        if (
            disclose
            and self.disclosure is not None
            and self.placement == "prepend"
            and not state.started
            and (pieces or finish)
        ):
            pieces.insert(0, self.disclosure + (SEPARATOR if "".join(pieces).strip() else ""))
        append = disclose and self.placement == "append" and finish is not None
        if append and self.disclosure is not None and not disclosed(state.sent, self.disclosure):
            pieces.append((SEPARATOR if state.sent.strip() or pieces else "") + self.disclosure)
        text = "".join(pieces)
        rest = {k: v for k, v in delta.items() if k not in ("content", "tool_calls", "function_call")}
        if not text and not rest and not calls and finish is None:
            return None
        state.started = state.started or bool(text)
        if finish is not None:
            state.done = True
        if text:
            rest["content"] = text
        elif "content" in delta and delta["content"] is None:
            rest["content"] = None  # a message that only calls tools starts with a null content
        elif "role" in rest:
            rest["content"] = ""
        out_part = {k: v for k, v in part.items() if k not in ("delta", "finish_reason")}
        return {**out_part, "delta": {**rest, **calls}, "finish_reason": finish}

    async def release(self, state: _Streamed, judged: dict[str, Any]) -> dict[str, Any]:
        """The tool calls held for a finished choice, judged: the delta that sends them whole ({} when blocked)."""
        calls = [state.tools[k] for k in sorted(state.tools)]
        functions = [c["function"] for c in calls] + ([state.function_call] if state.function_call else [])
        state.tool_result = await self.judge_calls(functions, judged["conversation"])
        if state.tool_result.blocked:
            state.calls_blocked = True
            return {}
        out: dict[str, Any] = {}
        if calls:
            out["tool_calls"] = calls
        if state.function_call:
            out["function_call"] = state.function_call
        return out


async def _drain(pieces: AsyncIterator[list[bytes]]) -> None:
    """Read what the upstream sends after ``data: [DONE]`` (normally only the end of the body), bounded by
    :data:`DRAIN_SECONDS` and :data:`DRAIN_LINES` pieces: a response read to its end gives its connection back to the
    pool, where one left unread is closed, and a new connection per stream cost both servers a handshake (measured:
    6 % of the proxy's CPU under 50 streaming clients)."""
    with anyio.move_on_after(DRAIN_SECONDS):
        try:
            for _ in range(DRAIN_LINES):
                await pieces.__anext__()
        except (StopAsyncIteration, aiohttp.ClientError, TimeoutError, InvalidInput):
            pass


async def _close(response: aiohttp.ClientResponse) -> None:
    """Close the upstream's response once the application's has been sent: a body read to its end has already given
    its connection back to the pool; one left unread (a blocked answer, an application gone) closes it."""
    response.close()


_LINE_END = re.compile(rb"\r\n|\r|\n")


async def _event_data(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[bytes]]:
    """The ``data:`` values of the upstream's server-sent events (other fields and comments skipped), one list per
    piece of the body the network delivered that completed a line: the events that arrived together are judged and
    sent on together. Lines end at CRLF, LF or CR (a CR at the end of a piece is held: it may be half of a CRLF).
    Read as bytes and split here, not by a line iterator (text decoding and a generator step per line: a fifth of
    the proxy's CPU on a streamed answer, measured with httpx's). A line longer than :data:`MAX_EVENT_LINE` is
    refused."""
    pending = b""
    async for chunk in chunks:
        pending += chunk
        held = pending.endswith(b"\r")
        *lines, rest = _LINE_END.split(pending[:-1] if held else pending)
        pending = rest + b"\r" if held else rest
        if len(pending) > MAX_EVENT_LINE:
            raise InvalidInput(f"a line of its event stream is longer than {MAX_EVENT_LINE} bytes")
        data = [line[5:].strip() for line in lines if line.startswith(b"data:")]
        if data:
            yield data
    if pending.startswith(b"data:"):  # the last line, without its end
        yield [pending[5:].strip()]


async def _no_pieces() -> AsyncIterator[list[bytes]]:
    return
    yield  # an async generator that yields nothing


def _event(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _passthrough_route(proxy: _Proxy) -> Callable[[Request], Any]:
    async def passthrough(request: Request) -> Response:
        path = request.path_params["path"]
        if path.split("/", 1)[0] in UNGUARDED:
            raise _Refused(
                404,
                f"/v1/{path} generates text the guarding proxy does not guard: use /v1/chat/completions",
                "unguarded_endpoint",
            )
        body = await proxy.body(request)
        headers = proxy.upstream_headers(request)
        if "content-type" in request.headers:
            headers["content-type"] = request.headers["content-type"]
        response = await proxy.send(request.method, path, data=body, headers=headers, query=request.url.query)
        kept = {k: ", ".join(response.headers.getall(k)) for k in response.headers if k.lower() not in _HOP_BY_HOP}
        return StreamingResponse(
            response.content.iter_any(), response.status, headers=kept, background=BackgroundTask(_close, response)
        )

    return passthrough


def create_proxy_app(
    guardrail: Guardrail,
    upstream: str,
    *,
    record: Recorder | None = None,
    api_key: str | None = None,
    limits: ProxyLimits | None = None,
    system: str | None = None,
    flush: Callable[[], object] | None = None,
) -> Starlette:
    """The guarding proxy (see the module's docstring) applying ``guardrail`` in front of ``upstream``, the base
    URL an application would give an OpenAI client (``http://127.0.0.1:8000/v1``): the proxy's ``/v1/X`` is the
    upstream's ``{upstream}/X``. ``record(result, channel="proxy", ...)`` receives every decision (None: nothing
    is recorded); ``api_key`` is sent to the upstream instead of the application's; ``system`` is passed to
    ``record``; ``flush()`` is called when the app shuts down (the recorder's buffered decisions). A policy that
    requires a disclosure with no text is refused here (InvalidInput)."""
    if not upstream.startswith(("http://", "https://")):
        raise InvalidInput(f"upstream must be an http:// or https:// URL, not {upstream!r}")
    proxy = _Proxy(guardrail, upstream, record, api_key, limits or ProxyLimits(), system, flush)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Refused)
        return JSONResponse(_error_body(exc.message, exc.kind, exc.code), exc.status)

    async def failed(request: Request, exc: Exception) -> Response:  # a fault of the proxy: still an OpenAI error
        log.error("the guarding proxy failed on %s %s", request.method, request.url.path, exc_info=exc)
        message = f"the guarding proxy failed: {type(exc).__name__} (see its log)"
        return JSONResponse(_error_body(message, "server_error", "proxy_error"), 500)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", proxy.chat, methods=["POST"]),
            Route("/assay/guardrail", proxy.describe, methods=["GET"]),
            Route("/v1/{path:path}", _passthrough_route(proxy), methods=methods),
        ],
        exception_handlers={_Refused: refused, Exception: failed},
        lifespan=proxy.lifespan,
    )
    app.state.proxy = proxy
    return app
