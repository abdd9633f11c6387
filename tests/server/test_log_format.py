"""`compendium serve` logs readable text to a terminal and JSON lines elsewhere
(COMPENDIUM_LOG_FORMAT=auto, the default), or what COMPENDIUM_LOG_FORMAT says."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.observability import TextFormatter, request_id_var, resolve_log_format
from tests.conftest import ROOT
from tests.live import _stop, free_port

STARTED = "Application startup complete."


def test_auto_is_text_only_when_stdout_and_stderr_are_terminals() -> None:
    primary, secondary = pty.openpty()
    try:
        with open(secondary, "w", closefd=False) as tty:
            assert resolve_log_format("auto", tty, tty) == "text"
            assert resolve_log_format("AUTO", tty, tty) == "text"
            assert resolve_log_format("auto", tty, io.StringIO()) == "json"
            assert resolve_log_format("auto", io.StringIO(), tty) == "json"
            assert resolve_log_format("json", tty, tty) == "json"
        assert resolve_log_format("text", io.StringIO()) == "text"
    finally:
        os.close(primary)
        os.close(secondary)
    with pytest.raises(ValueError, match="one of auto, text, json"):
        resolve_log_format("yaml", io.StringIO())


def test_text_lines_carry_the_request_id_and_the_fields() -> None:
    record = logging.LogRecord(
        "compendium.http", logging.INFO, __file__, 1, "graphql request", (), None
    )
    record.operation = "ReviewPage"
    record.status = 200
    token = request_id_var.set("trace-me-7")
    try:
        line = TextFormatter().format(record)
    finally:
        request_id_var.reset(token)
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO    compendium\.http: graphql request  "
        r"request_id=trace-me-7 operation=ReviewPage status=200",
        line,
    ), line


def _serve(db_url: str, **streams: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=db_url, PYTHONUNBUFFERED="1")
    env.pop("COMPENDIUM_LOG_FORMAT", None)  # the default: auto
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        **streams,  # type: ignore[call-overload]
    )


def _read_until(fd: int, text: str, timeout: float = 60.0) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:  # the other side closed
                break
    return seen.decode(errors="replace")


def test_serve_logs_text_to_a_terminal_and_json_to_a_file(db_url: str, tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    process = _serve(db_url, stdout=secondary, stderr=secondary)
    os.close(secondary)
    try:
        shown = _read_until(primary, STARTED)
    finally:
        _stop(process)
        os.close(primary)
    started = next(line for line in shown.splitlines() if STARTED in line)
    assert re.match(r"\d\d:\d\d:\d\d INFO\s+uvicorn\.error: Application startup", started), shown
    assert "{" not in shown

    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = _serve(db_url, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while STARTED not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        _stop(process)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(line["message"] == STARTED and line["level"] == "info" for line in lines)
