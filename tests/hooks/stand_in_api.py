"""A stand-in for Anthropic's Messages API on 127.0.0.1, streaming as the real one does.

The conversation it plays: to a request that offers tools and holds no tool result
yet, it answers with one `tool_use` (the test chooses the tool and its input); once the
request carries the tool's result, it answers with a final text that quotes that
result, so the test can tell whether the tool ran or was refused. Requests without
tools (Claude Code's own side questions) get a short text. Every request body is kept.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class StandInAPI:
    def __init__(
        self, tool: str, tool_input: dict[str, Any], tls: tuple[Path, Path] | None = None
    ) -> None:
        """`tls` (certificate, key) serves HTTPS, as the real API does."""
        self.tool = tool
        self.tool_input = tool_input
        self.requests: list[dict[str, Any]] = []
        self.results: list[str] = []  # text of each tool_result the agent sent back
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
                    self._json({"input_tokens": 10} if "count_tokens" in self.path else {})
                    return
                api.requests.append(body)
                events = api.reply(body)
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.end_headers()
                    for name, data in events:
                        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                        self.wfile.flush()
                else:
                    self._json(_whole(events))

            def do_GET(self) -> None:
                self._json({})

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.end_headers()

            def _json(self, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandInAPI:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reply(self, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The stream of events answering one request."""
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        results = [
            block
            for block in (last.get("content") if isinstance(last.get("content"), list) else [])
            if isinstance(block, dict) and block.get("type") == "tool_result"
        ]
        if results:
            text = " ".join(_text(r.get("content")) for r in results)
            self.results.append(text)
            return _message([_text_block(f"The tool said: {text}")], "end_turn")
        if body.get("tools"):
            return _message([_tool_block(self.tool, self.tool_input)], "tool_use")
        return _message([_text_block("ok")], "end_turn")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return ""


def _text_block(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return {"type": "text", "text": ""}, [{"type": "text_delta", "text": text}]


def _tool_block(name: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    start = {"type": "tool_use", "id": "toolu_01StandIn", "name": name, "input": {}}
    return start, [{"type": "input_json_delta", "partial_json": json.dumps(data)}]


def _message(
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]], stop: str
) -> list[tuple[str, dict[str, Any]]]:
    usage = {"input_tokens": 10, "output_tokens": 1}
    message = {
        "id": "msg_standin",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": message})
    ]
    for index, (start, deltas) in enumerate(blocks):
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
        )
        for delta in deltas:
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _whole(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The non-streaming response the same events add up to."""
    message = dict(events[0][1]["message"])
    content: list[dict[str, Any]] = []
    for name, data in events[1:]:
        if name == "content_block_start":
            content.append(dict(data["content_block"]))
        elif name == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "text_delta":
                content[-1]["text"] += delta["text"]
            else:
                content[-1]["input"] = json.loads(delta["partial_json"])
        elif name == "message_delta":
            message["stop_reason"] = data["delta"]["stop_reason"]
    message["content"] = content
    return message
