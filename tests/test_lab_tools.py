"""tools/labs.py's guard against otter's log receiver spinning on a connection closed mid-record."""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import labs as labtools  # noqa: E402,F401  (importing it installs the patch)


def _handler_threads():
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


def test_log_receiver_stops_when_the_kernel_dies_mid_record():
    """A sender that closes after half a record: the handler thread ends (before the patch it spun
    at full CPU forever and, not being a daemon, kept the grading process from exiting)."""
    from otter.execute import logging as otter_logging

    (host, port), stop = otter_logging.start_server()
    try:
        before = set(_handler_threads())
        with socket.create_connection((host, port)) as conn:
            conn.sendall(struct.pack(">L", 100) + b"x" * 10)  # 10 of the 100 bytes announced
            deadline = time.time() + 5
            while time.time() < deadline and not (set(_handler_threads()) - before):
                time.sleep(0.01)
        new = set(_handler_threads()) - before
        deadline = time.time() + 5
        while time.time() < deadline and any(t.is_alive() for t in new):
            time.sleep(0.01)
        assert not any(t.is_alive() for t in new), "a log handler thread still runs after its peer closed"
        assert all(t.daemon for t in new), "log handler threads must not keep the process alive"
    finally:
        stop()


def test_log_receiver_still_delivers_complete_records():
    import logging
    import pickle

    from otter.execute import logging as otter_logging

    received = []

    class Catch(logging.Handler):
        def emit(self, record):
            received.append(record.getMessage())

    logger = logging.getLogger("optlab-test-log-receiver")
    catch = Catch()
    logger.addHandler(catch)
    logger.setLevel(logging.DEBUG)
    (host, port), stop = otter_logging.start_server()
    try:
        record = logging.makeLogRecord({"name": logger.name, "msg": "hello", "levelno": logging.CRITICAL,
                                        "levelname": "CRITICAL"})
        payload = pickle.dumps(record.__dict__)
        with socket.create_connection((host, port)) as conn:
            conn.sendall(struct.pack(">L", len(payload)) + payload)
        deadline = time.time() + 5
        while time.time() < deadline and not received:
            time.sleep(0.01)
        assert received == ["hello"]
    finally:
        stop()
        logger.removeHandler(catch)
