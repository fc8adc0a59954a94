"""A lean HTTP/1.1 client for the load generator: keep-alive connections over asyncio streams, JSON in
and out, nothing else.

Why not httpx: on two cores the load generator shares the CPU with every service and PostgreSQL, and
httpx spent about 2.7 ms of CPU per request there (measured by `make load`'s CPU column) — more than
some of the requests it measured. This one spends a fraction of that, so the services keep the cores.

    client = LeanClient("http://127.0.0.1:8001", connections=400)
    answer = await client.request("POST", "/programs", body={...}, headers={"authorization": "Bearer …"})
    answer.status, answer.json()
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

__all__ = ["Answer", "LeanClient"]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def status_code(self) -> int:
        return self.status

    def json(self) -> Any:
        return json.loads(self.content)


class LeanClient:
    """Requests to one origin over at most `connections` keep-alive connections."""

    def __init__(self, origin: str, *, connections: int = 100, timeout: float = 30.0) -> None:
        parts = urlsplit(origin)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(connections)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Answer:
        if params:
            path = f"{path}?{urlencode(params)}"
        content = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}", f"content-length: {len(content)}"]
        if body is not None:
            lines.append("content-type: application/json")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        message = ("\r\n".join(lines) + "\r\n\r\n").encode() + content
        async with self._slots:
            while self._idle:
                # The server may have closed an idle connection (its keep-alive timeout) as we sent:
                # then nothing was read from it, and the request goes again on a fresh one.
                try:
                    return await self._exchange(*self._idle.pop(), message)
                except (ConnectionError, asyncio.IncompleteReadError):
                    continue
            return await self._exchange(*await self._connect(), message)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, message: bytes) -> Answer:
        try:
            async with asyncio.timeout(self.timeout):
                writer.write(message)
                answer, keep = await self._read(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return answer

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            content = b""
            while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
                content += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            content = await reader.readexactly(int(headers.get("content-length", "0")))
        keep = headers.get("connection", "").lower() != "close"
        return Answer(int(status_line.split(" ", 2)[1]), headers, content), keep

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()
