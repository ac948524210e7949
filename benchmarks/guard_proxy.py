"""Measure the guarding proxy's added latency (benchmarks/RESULTS.md, "Guardrails: the proxy"; target: p95 under
15 ms over the direct upstream call at 50 concurrent clients).

Three processes: the fake OpenAI-compatible upstream (tests/support/openai_server.py, answering a fixed reply of
six sentences after ``--delay`` seconds), ``assay guard proxy`` in front of it with a policy of every check section
whose module is installed (words, sensitive information, prompt attacks) plus a required disclosure, and this load
generator: ``--clients`` simulated applications (asyncio, httpx), each sending a chat request with a 1 KB prompt,
then waiting 0.5-1.5 s, starting at random instants in the first 1.5 s. Phases alternate (direct, proxied, direct,
proxied) so that a change of the machine's load hits both; each request's latency is from sending to the last byte
(for a stream: ``data: [DONE]``).

    PYTHONPATH=src python benchmarks/guard_proxy.py [--clients 50] [--seconds 30] [--delay 0.02] [--stream]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

REPLY = (
    "Thank you for your message about the delayed delivery. The parcel left our warehouse on Monday and is now with "
    "the carrier. Deliveries to your area usually take two to three working days. You can follow it with the tracking "
    "link in your confirmation e-mail. If it has not arrived by Friday, reply to this message and we will send a "
    "replacement. Is there anything else I can help you with today?"
)
PROMPT = (
    "Hello, I ordered a desk lamp and a set of shelves two weeks ago and the confirmation said they would arrive "
    "within five working days. Nothing has arrived yet and the tracking page has not changed since Monday. I work "
    "from home and need the lamp for my office, so I would like to know what is happening with the order. Could you "
    "check where the parcel is, tell me when it will arrive, and whether I can get a refund of the delivery charge "
    "if it is late? My order number is 4471-2291 and you can reach me at jane.doe@example.org or on the phone "
    "number in my account. I have been a customer for six years and this is the first time something has gone wrong, "
    "so I hope we can sort it out quickly. Thank you in advance for your help, and have a nice day. Best wishes, "
    "Jane. P.S. The shelves can wait but the lamp is urgent, so please tell me if it can be sent separately. If a "
    "courier has to come twice, I am at home on weekdays after two o'clock, and a neighbour can take it otherwise."
)


def _policy() -> tuple[str, list[str]]:
    sections = {
        "words": "words: {phrases: [internal codename, project nightingale, confidential roadmap], input: block, "
        "output: block}",
        "sensitive_information": "sensitive_information:\n  entities:\n    - {type: EMAIL_ADDRESS, input: mask, "
        "output: mask}\n    - {type: CREDIT_CARD, input: block, output: block}\n  secrets: {input: block, output: "
        "block}",
        "prompt_attacks": "prompt_attacks: {input: block, threshold: 0.5}",
    }
    from assay.genai.guard import BUILDERS

    present = [name for name in sections if importlib.util.find_spec(BUILDERS[name]) is not None]
    text = "schema: assay.guardrail/1\nname: bench\n" + "".join(sections[name] + "\n" for name in present)
    text += 'disclosure: {required: true, text: "You are talking to an AI assistant."}\n'
    return text, present


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not start") from None
            time.sleep(0.2)


async def _client(
    client: httpx.AsyncClient, stream: bool, until: float, latencies: list[float], errors: list[str]
) -> None:
    body = {"model": "fake-model", "messages": [{"role": "user", "content": PROMPT}], "stream": stream}
    await asyncio.sleep(random.uniform(0, 1.5))
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            if stream:
                async with client.stream("POST", "/chat/completions", json=body) as response:
                    async for _ in response.aiter_bytes():
                        pass
            else:
                response = await client.post("/chat/completions", json=body)
            if response.status_code != 200:
                errors.append(str(response.status_code))
            else:
                latencies.append((time.perf_counter() - started) * 1000)
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
        await asyncio.sleep(random.uniform(0.5, 1.5))


async def _phase(base: str, clients: int, seconds: float, stream: bool) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    pool = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=pool) as client:  # a connection per client
        await asyncio.gather(*(_client(client, stream, until, latencies, errors) for _ in range(clients)))
    return latencies, errors


def _cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system; Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _summary(latencies: list[float]) -> dict[str, float]:
    values = np.asarray(latencies)
    return {
        "requests": len(values),
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "p99": float(np.percentile(values, 99)),
        "max": float(values.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30, help="seconds per target (two phases each, alternating)")
    parser.add_argument("--delay", type=float, default=0.02, help="the upstream's seconds before answering")
    parser.add_argument("--stream", action="store_true", help="streamed responses (judged sentence by sentence)")
    args = parser.parse_args()
    policy_text, present = _policy()
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), "NO_COLOR": "1"}
    up_port, proxy_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "policy.yaml"
        policy.write_text(policy_text, "utf-8")
        upstream = subprocess.Popen(
            [sys.executable, "-m", "tests.support.openai_server", "--port", str(up_port), "--delay", str(args.delay),
             "--reply", REPLY, "--chunk", "12"],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        proxy = subprocess.Popen(
            [sys.executable, "-m", "assay", "-w", folder, "guard", "proxy", "--upstream",
             f"http://127.0.0.1:{up_port}/v1", "--policy-file", str(policy), "--port", str(proxy_port)],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait(f"http://127.0.0.1:{up_port}/v1/models", upstream)
            _wait(f"http://127.0.0.1:{proxy_port}/assay/guardrail", proxy)
            targets = {"direct": f"http://127.0.0.1:{up_port}/v1", "proxy": f"http://127.0.0.1:{proxy_port}/v1"}
            # one warm-up request each (imports, connections)
            for base in targets.values():
                for _ in range(3):
                    httpx.post(f"{base}/chat/completions", json={"messages": [{"role": "user", "content": PROMPT}]},
                               timeout=120)  # fmt: skip
            results: dict[str, list[float]] = {"direct": [], "proxy": []}
            errors: dict[str, list[str]] = {"direct": [], "proxy": []}
            cpu = {"proxy": 0.0, "upstream": 0.0}
            for name in ("direct", "proxy", "direct", "proxy"):
                before = {"proxy": _cpu_seconds(proxy.pid), "upstream": _cpu_seconds(upstream.pid)}
                latencies, failed = asyncio.run(_phase(targets[name], args.clients, args.seconds / 2, args.stream))
                results[name] += latencies
                errors[name] += failed
                if name == "proxy":
                    cpu["proxy"] += _cpu_seconds(proxy.pid) - before["proxy"]
                else:
                    cpu["upstream"] += _cpu_seconds(upstream.pid) - before["upstream"]
            sample = httpx.post(f"{targets['proxy']}/chat/completions",
                                json={"messages": [{"role": "user", "content": PROMPT}]}).json()  # fmt: skip
        finally:
            for process in (proxy, upstream):
                process.terminate()
                process.wait(timeout=30)
    direct, proxied = _summary(results["direct"]), _summary(results["proxy"])
    report = {
        "clients": args.clients,
        "stream": args.stream,
        "upstream_delay_ms": args.delay * 1000,
        "sections": present,
        "direct": direct,
        "proxy": proxied,
        "added_ms": {k: proxied[k] - direct[k] for k in ("p50", "p95", "p99")},
        "errors": {k: len(v) for k, v in errors.items()},
        # CPU time per request: the proxy's own work (judging, parsing, the second HTTP hop), and the fake upstream's
        "cpu_ms_per_request": {
            "proxy": cpu["proxy"] * 1000 / max(len(results["proxy"]), 1),
            "upstream": cpu["upstream"] * 1000 / max(len(results["direct"]), 1),
        },
        "load_average": os.getloadavg(),
        "sample_marker": sample.get("assay"),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
