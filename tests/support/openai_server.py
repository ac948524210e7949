"""A real HTTP server speaking the OpenAI-compatible chat API, with answers scripted by the test.

It is a Starlette app served by uvicorn in a thread of the test process, on a free port of 127.0.0.1: real sockets,
real HTTP, real server-sent events. It answers

- ``POST /v1/chat/completions``: a ``chat.completion`` object, or with ``"stream": true`` server-sent events
  (``data: {chat.completion.chunk}`` lines, the reply cut into chunks of ``chunk`` characters, ``data: [DONE]`` at the
  end; a last chunk with ``usage`` when ``stream_options.include_usage`` is set); ``n`` choices when asked. ``usage``
  counts words (the prompt's: the text of every message; the completion's: the replies' text and tool-call
  arguments);
- ``GET /v1/models`` and ``GET /v1/models/{id}``: the one model (``model``);
- anything else: 404 with an OpenAI-shaped error.

Scripting the replies (``replies``):

- a mapping from the last user message's text to the reply (a message not in it gets ``default``);
- a list of replies, answered in order (then ``default``);
- a callable ``(request) -> reply``, given the request's JSON body (its ``model``, ``messages``, ...;
  :func:`user_text` is the last user message);
- None: ``default``.

A reply is a text (the assistant's ``content``) or an assistant message: a mapping with ``content`` (a text or None)
and ``tool_calls`` (:func:`tool_call` makes one), answered with ``finish_reason: "tool_calls"``; streamed, its tool
calls come after its text as OpenAI streams them (a delta with the call's ``id``, ``type`` and ``function.name``,
then its ``arguments`` in chunks of ``chunk`` characters), and a message whose ``content`` is None starts with
``{"role": "assistant", "content": null}``.

``default`` is a text, or None to echo the last user message (``"You said: ..."``). ``delay`` seconds are waited
before each answer (the model "thinking"), ``chunk_delay`` between streamed chunks. ``fail_next`` holds HTTP
statuses to answer (with an OpenAI-shaped error) before answering properly, one per request; ``fail_when(request)
-> status | None`` fails the chat requests it chooses, every time; ``cut_after`` (a number of streamed chunks of
text or arguments) makes every stream break off there (the connection dropped, as when a server dies);
``ignore_stream`` answers a stream request with a whole ``chat.completion`` (a server that does not stream).

What it received is kept: ``requests`` lists every request (:class:`Received`: method, path, headers, JSON body,
the client's address and port, which tells connections apart),
``chats`` the bodies of the chat requests, ``last_user`` the last user message of each. Use it as a context manager
(or ``start``/``stop``)::

    with OpenAIServer({"Hi": "Hello. How can I help?"}) as upstream:
        client = httpx.Client(base_url=upstream.url)  # http://127.0.0.1:PORT/v1 (an OpenAI client's base URL)
        client.post("/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "Hi"}]})
        assert upstream.last_user == ["Hi"]

Run it alone (for benchmarks): ``python -m tests.support.openai_server --port 8001 [--delay 0.05]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["OpenAIServer", "Received", "free_port", "reply_text", "tool_call", "user_text"]

#: A reply: the assistant's text, or its message (``content`` and ``tool_calls``).
Reply = str | Mapping[str, Any]
Replies = Mapping[str, Reply] | Sequence[Reply] | Callable[[dict[str, Any]], Reply] | None


@dataclass(frozen=True)
class Received:
    """One request the server received."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any  # the JSON body (None when there was none or it was not JSON)
    peer: str | None = None  # the client's address and port ("127.0.0.1:PORT"): one per connection


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def reply_text(content: Any) -> str:
    """The text of a message's ``content`` (a string, or a list of parts of which the ``text`` ones count)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def user_text(request: Mapping[str, Any]) -> str:
    """The text of the last user message of a chat request's JSON body ("" when it has none)."""
    return _last_user(request.get("messages"))


def tool_call(name: str, arguments: Mapping[str, Any] | str, ident: str | None = None) -> dict[str, Any]:
    """A tool call as a reply's ``tool_calls`` holds it (``arguments``: an object, sent as its JSON text, or the
    text itself)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": ident or f"call_{uuid.uuid4().hex[:12]}", "type": "function",
            "function": {"name": name, "arguments": text}}  # fmt: skip


def _message(reply: Reply) -> dict[str, Any]:
    """A reply as the assistant's message (``role``, ``content``, and ``tool_calls`` when it has some)."""
    if isinstance(reply, str):
        return {"role": "assistant", "content": reply}
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if reply.get("tool_calls"):
        message["tool_calls"] = [dict(call) for call in reply["tool_calls"]]
    return message


def _words(message: Mapping[str, Any]) -> int:
    """The words of a message's text and of its tool calls' arguments (the fake server's tokens)."""
    calls = message.get("tool_calls") or []
    arguments = " ".join(str((c.get("function") or {}).get("arguments") or "") for c in calls if isinstance(c, dict))
    return len(reply_text(message.get("content")).split()) + len(arguments.split())


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status)


class OpenAIServer:
    """See the module's docstring."""

    def __init__(
        self,
        replies: Replies = None,
        *,
        default: str | None = None,
        delay: float = 0.0,
        chunk: int = 8,
        chunk_delay: float = 0.0,
        model: str = "fake-model",
        port: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: list[str] = []
        self.replies = replies
        self.default = default
        self.delay = delay
        self.chunk = chunk
        self.chunk_delay = chunk_delay
        self.model = model
        self.port = port or free_port()
        self.fail_next: list[int] = []
        self.fail_when: Callable[[dict[str, Any]], int | None] | None = None
        self.cut_after: int | None = None
        self.ignore_stream = False
        self.requests: list[Received] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/models/{model:path}", self._model, methods=["GET"]),
                Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            ]
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def replies(self) -> Replies:
        """The script (settable while the server runs: a new list starts from its first reply)."""
        return self._replies

    @replies.setter
    def replies(self, replies: Replies) -> None:
        with self._lock:
            self._replies = replies
            self._queue = list(replies) if isinstance(replies, list | tuple) else []

    # ---- what the test reads ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL an OpenAI client is given (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chats(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat requests received, in order."""
        with self._lock:
            return [r.body for r in self.requests if r.path == "/v1/chat/completions" and isinstance(r.body, dict)]

    @property
    def last_user(self) -> list[str]:
        """The last user message of each chat request received."""
        return [_last_user(body.get("messages")) for body in self.chats]

    # ---- life -------------------------------------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            raise RuntimeError(f"the fake OpenAI server did not start on port {self.port}")
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the API ----------------------------------------------------------------------------------------------

    async def _received(self, request: Request) -> tuple[Any, int | None]:
        """The request's JSON body (kept in ``requests``) and the status to fail it with, if one is scripted."""
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            peer = None if request.client is None else f"{request.client.host}:{request.client.port}"
            self.requests.append(Received(request.method, request.url.path, dict(request.headers), body, peer))
            return body, (self.fail_next.pop(0) if self.fail_next else None)

    def _answer(self, request: dict[str, Any]) -> Reply:
        replies = self.replies
        if callable(replies):
            return replies(request)
        last = _last_user(request["messages"])
        if isinstance(replies, Mapping) and last in replies:
            return replies[last]
        if isinstance(replies, list | tuple):
            with self._lock:
                if self._queue:
                    return self._queue.pop(0)
        return f"You said: {last}" if self.default is None else self.default

    async def _chat(self, request: Request) -> Response:
        body, failing = await self._received(request)
        if failing is not None:
            return _error(failing, f"scripted failure {failing}", "server_error")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "messages: a list of messages is required")
        failing = self.fail_when(body) if self.fail_when is not None else None
        if failing is not None:
            return _error(failing, f"scripted failure {failing}", "server_error")
        if self.delay:
            await asyncio.sleep(self.delay)
        n = int(body.get("n") or 1)
        messages = [_message(self._answer(body)) for _ in range(n)]
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())
        model = str(body.get("model") or self.model)
        usage = {
            "prompt_tokens": sum(_words(m) for m in body["messages"] if isinstance(m, dict)),
            "completion_tokens": sum(_words(m) for m in messages),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream") or self.ignore_stream:
            choices = [
                {"index": i, "message": m, "finish_reason": _finish(m), "logprobs": None}
                for i, m in enumerate(messages)
            ]
            return JSONResponse(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": choices,
                    "usage": usage,
                }
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(
            self._events(ident, created, model, messages, usage if include_usage else None),
            media_type="text/event-stream",
        )

    def _pieces(self, text: str) -> list[str]:
        return [text[start : start + self.chunk] for start in range(0, len(text), self.chunk)]

    async def _events(
        self, ident: str, created: int, model: str, messages: list[dict[str, Any]], usage: dict[str, int] | None
    ) -> AsyncIterator[bytes]:
        def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **extra,
            }
            return f"data: {json.dumps(chunk)}\n\n".encode()

        for i, message in enumerate(messages):
            first = {"role": "assistant", "content": "" if message["content"] is not None else None}
            yield event([{"index": i, "delta": first, "finish_reason": None}])
        for i, message in enumerate(messages):
            deltas: list[dict[str, Any]] = [{"content": p} for p in self._pieces(message["content"] or "")]
            for k, call in enumerate(message.get("tool_calls") or []):
                function = call.get("function") or {}
                head = {"index": k, "id": call.get("id"), "type": call.get("type", "function"),
                        "function": {"name": function.get("name"), "arguments": ""}}  # fmt: skip
                deltas.append({"tool_calls": [head]})
                deltas += [
                    {"tool_calls": [{"index": k, "function": {"arguments": p}}]}
                    for p in self._pieces(str(function.get("arguments") or ""))
                ]
            for number, delta in enumerate(deltas):
                if self.cut_after is not None and number >= self.cut_after:
                    raise ConnectionAbortedError("the scripted stream breaks off here")  # uvicorn drops the connection
                if self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
                yield event([{"index": i, "delta": delta, "finish_reason": None}])
            yield event([{"index": i, "delta": {}, "finish_reason": _finish(message)}])
        if usage is not None:
            yield event([], usage=usage)
        yield b"data: [DONE]\n\n"

    async def _models(self, request: Request) -> Response:
        _, failing = await self._received(request)
        if failing is not None:
            return _error(failing, f"scripted failure {failing}", "server_error")
        return JSONResponse({"object": "list", "data": [self._model_object()]})

    async def _model(self, request: Request) -> Response:
        await self._received(request)
        if request.path_params["model"] != self.model:
            return _error(404, f"The model {request.path_params['model']!r} does not exist")
        return JSONResponse(self._model_object())

    def _model_object(self) -> dict[str, Any]:
        return {"id": self.model, "object": "model", "created": 0, "owned_by": "assay-tests"}

    async def _unknown(self, request: Request) -> Response:
        await self._received(request)
        return _error(404, f"no route {request.method} {request.url.path}")


def _finish(message: Mapping[str, Any]) -> str:
    return "tool_calls" if message.get("tool_calls") else "stop"


def _last_user(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return reply_text(users[-1].get("content")) if users else ""


def main() -> None:  # pragma: no cover - used by benchmarks
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible chat server (echoes, or --reply).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--reply", default=None, help="the reply to every message (default: an echo)")
    parser.add_argument("--chunk", type=int, default=8, help="characters per streamed chunk")
    args = parser.parse_args()
    server = OpenAIServer(default=args.reply, delay=args.delay, chunk=args.chunk, port=args.port)
    server.requests = _Forgetful()
    uvicorn.run(server.app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off")


class _Forgetful(list[Received]):  # a long benchmark run keeps no record of the requests
    def append(self, item: Received) -> None:
        del self[:]
        super().append(item)


if __name__ == "__main__":  # pragma: no cover
    main()
