"""`make lab`, tested as a reader uses it: the JupyterLab server that `make lab` starts (on a free
port, with a known token) listens on 127.0.0.1 only, refuses requests without the token, lists
the chapters, offers the course's kernel, and runs a chapter's set-up cell through the kernel
API. The server is stopped at the end."""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
import websocket

from chapter_files import PRESENT, ROOT, load, notebook_path

TOKEN = secrets.token_hex(16)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url: str, *, token: str | None = TOKEN, method: str = "GET", body: dict | None = None):
    headers = {"Authorization": f"token {token}"} if token else {}
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method=method), timeout=30) as reply:
        return reply.status, json.loads(reply.read() or b"null")


@pytest.fixture(scope="module")
def lab():
    port = free_port()
    make = os.environ.get("MAKE", "make")
    server = subprocess.Popen(
        [make, "--no-print-directory", "lab", f"PYTHON={sys.executable}",
         f"LAB_ARGS=--port={port} --no-browser --IdentityProvider.token={TOKEN} --ServerApp.port_retries=0"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                request(f"{base}/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None:
                    pytest.fail(f"make lab exited: {server.stderr.read()[-2000:]}")
                time.sleep(0.25)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        yield base, port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_listens_on_localhost_only(lab):
    _, port = lab
    listening = [connection.laddr.ip for connection in psutil.net_connections(kind="tcp")
                 if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port]
    assert listening and set(listening) <= {"127.0.0.1"}, f"listening on {listening}"


def test_requires_the_token(lab):
    base, _ = lab
    with pytest.raises(urllib.error.HTTPError) as refused:
        request(f"{base}/api/contents", token=None)
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as wrong:
        request(f"{base}/api/contents", token="not-the-token")
    assert wrong.value.code == 403


def test_lists_the_chapters(lab):
    base, _ = lab
    status, listing = request(f"{base}/api/contents")
    names = {entry["name"] for entry in listing["content"]}
    assert status == 200 and {notebook_path(chapter).name for chapter in PRESENT} <= names


def test_offers_the_course_kernel(lab):
    base, _ = lab
    _, specs = request(f"{base}/api/kernelspecs")
    assert specs["default"] == "python3" and "python3" in specs["kernelspecs"]


def test_runs_a_chapter_cell_through_the_kernel_api(lab):
    base, port = lab
    chapter = PRESENT[0]
    setup = next("".join(cell["source"]) for cell in load(chapter)["cells"] if cell["cell_type"] == "code")
    code = setup + "\nimport sys, nnlib\nprint('kernel', sys.prefix, 'nnlib', nnlib.__name__, 'rng', type(rng).__name__)"
    _, kernel = request(f"{base}/api/kernels", method="POST", body={"name": "python3", "path": "."})
    channel = websocket.create_connection(f"ws://127.0.0.1:{port}/api/kernels/{kernel['id']}/channels?token={TOKEN}",
                                          timeout=120)
    try:
        message_id = uuid.uuid4().hex
        channel.send(json.dumps({
            "header": {"msg_id": message_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        printed, reply = "", None
        while reply is None:
            message = json.loads(channel.recv())
            if message.get("parent_header", {}).get("msg_id") != message_id:
                continue
            if message["msg_type"] == "stream":
                printed += message["content"]["text"]
            elif message["msg_type"] == "execute_reply":
                reply = message["content"]
    finally:
        channel.close()
        request(f"{base}/api/kernels/{kernel['id']}", method="DELETE")
    assert reply["status"] == "ok", reply
    assert f"kernel {Path(sys.prefix)}" in printed or f"kernel {sys.prefix}" in printed, printed
    assert "rng Generator" in printed
