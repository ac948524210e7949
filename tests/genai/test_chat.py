"""The evaluation's targets against a real HTTP server speaking the OpenAI-compatible chat API: answers and usage,
headers from the environment, retries with backoff on 429/5xx and timeouts, bounded concurrency, the budget and
stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from assay.errors import Cancelled, InvalidInput
from assay.genai.chat import (
    Answer,
    Budget,
    CallableTarget,
    Endpoint,
    OpenAIChat,
    Retryable,
    call_all,
    parse_endpoint,
)
from tests.support.openai_server import OpenAIServer, user_text


def echo(request: dict[str, Any]) -> str:
    return f"you said: {user_text(request)}"


def test_endpoint_file_is_validated_naming_the_field() -> None:
    parsed = parse_endpoint('{"kind": "openai-chat", "url": "http://h:1/v1/", "model": "m"}')
    assert parsed.url == "http://h:1/v1" and parsed.describe()["headers"] == []
    assert parse_endpoint("kind: openai-chat\nurl: https://x.example/v1\nmodel: m\n").url == "https://x.example/v1"
    with pytest.raises(InvalidInput, match="url: Value error, must start with http"):
        parse_endpoint('{"url": "ftp://x/v1", "model": "m"}')
    with pytest.raises(InvalidInput, match=r"headers_env\.Authorization"):
        parse_endpoint('{"url": "http://x:1/v1", "model": "m", "headers_env": {"Authorization": "sk-secret value"}}')
    with pytest.raises(InvalidInput, match="api_key: Extra inputs"):
        parse_endpoint('{"url": "http://x:1/v1", "model": "m", "api_key": "sk-..."}')
    with pytest.raises(InvalidInput, match="must be an object"):
        parse_endpoint("[1, 2]")


def test_chat_endpoint_answers_with_usage_context_and_headers_from_the_environment() -> None:
    with OpenAIServer(echo) as server:
        endpoint = Endpoint(url=server.url, model="tiny", headers_env={"Authorization": "EVAL_TEST_KEY"},
                            system_prompt="Be brief.", max_tokens=20)  # fmt: skip
        with pytest.raises(InvalidInput, match="environment variable EVAL_TEST_KEY, which is not set"):
            OpenAIChat(endpoint, environ={})
        with pytest.raises(InvalidInput, match=r"read only from a variable named ASSAY_ENDPOINT_\.\.\."):
            OpenAIChat(endpoint, environ={"EVAL_TEST_KEY": "x"}, env_prefix="ASSAY_ENDPOINT_")
        client = OpenAIChat(endpoint, environ={"EVAL_TEST_KEY": "Bearer abc"})
        try:
            answer = client("How long?", ["Returns within 30 days.", "Shipping takes 2 days."])
        finally:
            client.close()
        sent = server.chats[0]
    assert answer.text == "you said: How long?"
    assert answer.prompt_tokens is not None and answer.completion_tokens == 4 and answer.tokens is not None
    assert sent["model"] == "tiny" and sent["max_tokens"] == 20 and sent["temperature"] == 0
    assert sent["messages"][0]["role"] == "system"
    assert (
        "Be brief." in sent["messages"][0]["content"] and "[2] Shipping takes 2 days." in sent["messages"][0]["content"]
    )
    assert server.requests[0].headers["authorization"] == "Bearer abc"


def test_retries_on_500_and_429_then_answers() -> None:
    with OpenAIServer(echo) as server:
        server.fail_next = [500, 429, 503]
        client = OpenAIChat(Endpoint(url=server.url, model="m"))
        try:
            outcome = call_all(client, [("hello", ())], retries=3, backoff=0.01)
        finally:
            client.close()
        assert len(server.chats) == 4
    reply = outcome.replies[0]
    assert reply.status == "ok" and reply.attempts == 4 and reply.answer is not None
    assert outcome.requests == 4 and outcome.retried == 3
    assert reply.latency_ms is not None and reply.latency_ms > 0


def test_retries_run_out_and_client_errors_are_not_retried() -> None:
    with OpenAIServer(echo) as server:
        server.fail_when = lambda request: 500 if "always" in user_text(request) else 400 if "bad" in user_text(
            request) else None  # fmt: skip
        client = OpenAIChat(Endpoint(url=server.url, model="m"))
        try:
            outcome = call_all(client, [("always fails", ()), ("bad request", ()), ("fine", ())], retries=2,
                               backoff=0.01)  # fmt: skip
        finally:
            client.close()
    failed, bad, fine = outcome.replies
    assert failed.status == "error" and failed.attempts == 3 and "HTTP 500" in (failed.error or "")
    assert bad.status == "error" and bad.attempts == 1 and "HTTP 400" in (bad.error or "")
    assert fine.status == "ok"
    assert outcome.requests == 5  # 3 + 1 + 1


def test_a_timeout_is_retried() -> None:
    with OpenAIServer(echo) as server:
        server.delay = 0.5
        client = OpenAIChat(Endpoint(url=server.url, model="m", timeout=0.1))
        try:
            outcome = call_all(client, [("slow", ())], retries=1, backoff=0.01)
        finally:
            client.close()
    reply = outcome.replies[0]
    assert reply.status == "error" and reply.attempts == 2 and "timed out" in (reply.error or "")


def test_the_budget_of_requests_stops_the_run_cleanly() -> None:
    with OpenAIServer(echo) as server:
        client = OpenAIChat(Endpoint(url=server.url, model="m"))
        try:
            outcome = call_all(client, [(f"q{i}", ()) for i in range(20)], concurrency=3,
                               budget=Budget(max_requests=5))  # fmt: skip
        finally:
            client.close()
        assert len(server.chats) == 5
    statuses = [r.status for r in outcome.replies]
    assert statuses.count("ok") == 5 and statuses.count("skipped") == 15
    assert outcome.stopped == "max_requests"
    assert outcome.to_dict()["budget"]["max_requests"] == 5


def test_the_budgets_of_tokens_characters_and_seconds() -> None:
    with OpenAIServer(echo) as server:
        client = OpenAIChat(Endpoint(url=server.url, model="m"))
        try:
            by_tokens = call_all(client, [("one two three", ())] * 10, concurrency=1, budget=Budget(max_tokens=20))
            by_characters = call_all(client, [("x" * 50, ())] * 10, concurrency=1, budget=Budget(max_characters=200))
            server.delay = 0.05
            by_time = call_all(client, [("q", ())] * 200, concurrency=2, budget=Budget(max_seconds=0.3))
        finally:
            client.close()
    assert by_tokens.stopped == "max_tokens" and by_tokens.tokens > 0 and by_tokens.requests < 10
    assert by_characters.stopped == "max_characters" and by_characters.requests == 2  # 50 + 60 each: over after two
    assert by_time.stopped == "max_seconds"
    assert 2 <= sum(r.status == "ok" for r in by_time.replies) < 50
    assert by_time.seconds < 2


def test_concurrency_is_bounded_and_replies_keep_their_order() -> None:
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def slow(prompt: str, context: Sequence[str]) -> str:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
        return prompt.upper()

    outcome = call_all(CallableTarget(slow), [(f"p{i}", ()) for i in range(40)], concurrency=3)
    assert state["most"] <= 3 and state["most"] >= 2
    assert [r.answer.text for r in outcome.replies if r.answer] == [f"P{i}" for i in range(40)]


def test_a_failing_callable_fails_its_item_and_retryable_ones_are_retried() -> None:
    calls = {"n": 0}

    def flaky(prompt: str, context: Sequence[str]) -> Answer | str:
        if prompt == "boom":
            raise RuntimeError("model crashed")
        if prompt == "flaky":
            calls["n"] += 1
            if calls["n"] < 3:
                raise Retryable("busy")
        if prompt == "number":
            return 42  # type: ignore[return-value]
        return Answer("fine", prompt_tokens=3, completion_tokens=1)

    outcome = call_all(CallableTarget(flaky), [("boom", ()), ("flaky", ()), ("number", ()), ("ok", ())], backoff=0)
    boom, flaky_reply, number, fine = outcome.replies
    assert boom.status == "error" and "RuntimeError: model crashed" in (boom.error or "")
    assert flaky_reply.status == "ok" and flaky_reply.attempts == 3
    assert number.status == "error" and "not text" in (number.error or "")
    assert fine.status == "ok" and outcome.tokens == 4 + 4  # the flaky one answered with usage too


def test_stopping_drops_what_was_not_started() -> None:
    def progress(done: int, total: int) -> None:
        if done >= 3:
            raise Cancelled("cancelled while evaluating")

    sent: list[str] = []

    def target(prompt: str, context: Sequence[str]) -> str:
        sent.append(prompt)
        return "ok"

    with pytest.raises(Cancelled):
        call_all(CallableTarget(target), [(f"p{i}", ()) for i in range(100)], concurrency=2, progress=progress)
    assert 3 <= len(sent) <= 10


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidInput, match="concurrency 0 must be at least 1"):
        call_all(CallableTarget(lambda p, c: p), [("a", ())], concurrency=0)
    with pytest.raises(InvalidInput, match="must be callable"):
        CallableTarget("not a function")  # type: ignore[arg-type]
