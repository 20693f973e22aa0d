"""A tiny stand-in for the vendors' APIs on 127.0.0.1 (HTTPS, the test CA), for driving
the real agents through the real proxy. It records every request and answers with one
short reply: Anthropic's `POST /v1/messages` (streamed as server-sent events when asked)
Google's `models/M:generateContent` / `:streamGenerateContent?alt=sse`, OpenAI's
`POST /v1/responses` (streamed, also as ChatGPT's `/backend-api/codex/responses`); the
token endpoints `/v1/oauth/token` with `NEW_TOKENS` and OpenAI's `/oauth/token` with
`OPENAI_TOKENS` (set by the test); anything else with an empty JSON object."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from typing import Any

from tests.proxy.conftest import Seen, TestPKI

REPLY = "Hello from the stand-in."
# What the token endpoint answers a refresh with (OAuth 2.0, as platform.claude.com does).
NEW_TOKENS = {
    "access_token": "sk-ant-oat01-REFRESHEDACCESSREFRESHEDACCESS000000",
    "refresh_token": "sk-ant-ort01-REFRESHEDREFRESHREFRESHEDREFRESH00000",
    "expires_in": 28800,
    "token_type": "Bearer",
}


def _events(model: str) -> list[tuple[str, dict[str, Any]]]:
    message = {
        "id": "msg_standin", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }  # fmt: skip
    return [
        ("message_start", {"type": "message_start", "message": message}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": REPLY}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 6}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: MessagesStandIn

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.seen.append(Seen("POST", self.path, headers.get("host", ""), headers, body))
        if self.path == "/v1/oauth/token":
            return self._json(NEW_TOKENS)
        if self.path == "/oauth/token":
            return self._json(self.server.openai_tokens)
        if ":generateContent" in self.path or ":streamGenerateContent" in self.path:
            return self._gemini()
        if self.path in ("/v1/responses", "/backend-api/codex/responses"):
            return self._responses()
        if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
            return self._json({"input_tokens": 5} if "count_tokens" in self.path else {})
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = {}
        model = str(request.get("model", "claude-standin"))
        if not request.get("stream"):
            message = dict(_events(model)[0][1]["message"])
            message |= {"content": [{"type": "text", "text": REPLY}], "stop_reason": "end_turn"}
            return self._json(message)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in _events(model):
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
        self.close_connection = True

    def _gemini(self) -> None:
        chunk = {
            "candidates": [{"content": {"role": "model", "parts": [{"text": REPLY}]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 5,
                              "totalTokenCount": 10},
        }  # fmt: skip
        if ":streamGenerateContent" not in self.path:
            return self._json(chunk)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def _responses(self) -> None:
        """OpenAI's Responses API, streamed (what Codex speaks)."""
        item = {
            "type": "message",
            "role": "assistant",
            "id": "msg_standin",
            "content": [{"type": "output_text", "text": REPLY}],
        }
        usage = {
            "input_tokens": 5,
            "input_tokens_details": None,
            "output_tokens": 5,
            "output_tokens_details": None,
            "total_tokens": 10,
        }
        events = [
            ("response.created", {"type": "response.created", "response": {"id": "resp_1"}}),
            ("response.output_item.done", {"type": "response.output_item.done", "item": item}),
            ("response.completed", {"type": "response.completed",
                                    "response": {"id": "resp_1", "usage": usage}}),
        ]  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.seen.append(Seen("GET", self.path, headers.get("host", ""), headers, b""))
        self._json({})

    def _json(self, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args: Any) -> None:
        pass


class MessagesStandIn(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pki: TestPKI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(pki.cert_pem, pki.key_pem)
        self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.port = self.server_address[1]
        self.seen: list[Seen] = []
        self.openai_tokens: dict[str, Any] = {}
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> MessagesStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()
        self.server_close()
