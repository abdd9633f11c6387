"""Connection-level guards of `compendium serve` (server/protocol.py), against a live server:
one address holding many idle or half-sent connections, or sending a huge header, while
another client is served normally."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx

from tests.live import serving

REVIEW = 'query R { review(slug: "ketamine--als") { title } }'
ATTACKER = "127.0.0.2"  # Linux routes all of 127/8 to the loopback interface


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def connect_from(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((address, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    return sock


def served_normally(base: str) -> float:
    """Seconds another client (127.0.0.1) waits for a GraphQL answer."""
    started = time.monotonic()
    response = httpx.post(f"{base}/graphql", json={"query": REVIEW}, timeout=10)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["data"]["review"]["title"]
    return time.monotonic() - started


def test_one_address_cannot_hold_every_connection(live_database: str, tmp_path: Path) -> None:
    with serving(
        live_database,
        tmp_path,
        max_connections_per_address=20,
        limit_concurrency=100,
        header_timeout_seconds=30,
    ) as base:
        port = port_of(base)
        held: list[socket.socket] = []
        try:
            # 150 connections from one address, idle or with half a request: more than
            # uvicorn serves at once (limit_concurrency 100).
            for n in range(150):
                sock = connect_from(ATTACKER, port)
                if n % 2:
                    sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")  # never finished
                held.append(sock)
            time.sleep(0.5)
            # Everyone else is served as usual, at once.
            assert served_normally(base) < 2
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            # The attacker's connections past its 20 were answered 429 and closed.
            refused = open_ = 0
            for sock in held:
                sock.setblocking(False)
                try:
                    answer = sock.recv(4096)
                except BlockingIOError:
                    open_ += 1
                    continue
                assert answer.startswith(b"HTTP/1.1 429 "), answer[:200]
                assert b"retry-after: 1" in answer.lower() and b"RATE_LIMITED" in answer
                refused += 1
            assert (open_, refused) == (20, 130)
            # A new one is refused at once too, while the 20 stay open.
            extra = connect_from(ATTACKER, port)
            assert extra.recv(4096).startswith(b"HTTP/1.1 429 ")
            extra.close()
        finally:
            for sock in held:
                sock.close()
        # Once they are closed, the address may connect again.
        time.sleep(0.3)
        again = connect_from(ATTACKER, port)
        again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert again.recv(4096).startswith(b"HTTP/1.1 200 ")
        again.close()


def test_a_huge_header_is_refused_as_it_arrives(live_database: str, tmp_path: Path) -> None:
    with serving(live_database, tmp_path, max_header_bytes=16384) as base:
        port = port_of(base)
        sock = connect_from(ATTACKER, port)
        sent = [0]
        stopped: list[BaseException] = []

        def send_70_mb() -> None:
            chunk = b"a" * 65536
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
                while sent[0] < 70 * 1024 * 1024:
                    sock.sendall(chunk)
                    sent[0] += len(chunk)
            except OSError as exc:  # the server closed the connection
                stopped.append(exc)

        sender = threading.Thread(target=send_70_mb, daemon=True)
        sender.start()
        # Meanwhile another client is served normally.
        waits = [served_normally(base) for _ in range(5)]
        answer = sock.recv(4096)
        sender.join(30)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b"connection: close" in answer.lower() and b"16384 bytes" in answer
        # Refused long before the 70 MB were sent (what is sent is only what the sockets
        # buffer before the server closes), and never answered as a request.
        assert stopped and sent[0] < 30 * 1024 * 1024, sent[0]
        assert max(waits) < 2, waits
        # A request under the limit is fine.
        fine = httpx.get(f"{base}/healthz", headers={"x-pad": "b" * 8000}, timeout=5)
        assert fine.status_code == 200
        too_many = {f"x-h{i}": "c" * 100 for i in range(200)}  # 20 KB in many small headers
        assert httpx.get(f"{base}/healthz", headers=too_many, timeout=5).status_code == 431
