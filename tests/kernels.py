"""How the course's tools start a notebook's kernel: `make book`, `make bench`, `make robustness`.

Every kernel talks to its client over IPC (Unix sockets in Jupyter's runtime directory), not TCP:
- no port has to be free, so two kernels starting at once cannot collide on one
  ("Address already in use", seen once with jupyter-cache's parallel executor);
- ipykernel 7 prints "Kernel is running over TCP without encryption" on every TCP start,
  a line per chapter that says nothing about the chapter.
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from traitlets.config import Config


def kernel_config() -> Config:
    """Configuration for one kernel manager: IPC sockets under a prefix no other kernel uses.

    The prefix must be absolute: the kernel runs in the chapter's folder and its client does
    not, and a relative prefix names two different places (the kernel then never answers).
    Jupyter removes the socket files when the kernel shuts down. Windows has no Unix sockets
    and keeps TCP."""
    if sys.platform == "win32":
        return Config()
    from jupyter_core.paths import jupyter_runtime_dir

    runtime = Path(jupyter_runtime_dir())
    runtime.mkdir(parents=True, exist_ok=True)
    prefix = runtime / f"course-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return Config({"KernelManager": {"transport": "ipc", "ip": str(prefix)}})


def notebook_client(notebook, path: Path, timeout: int):
    """An nbclient client that executes `notebook` (read from `path`) in its folder."""
    from nbclient import NotebookClient

    return NotebookClient(notebook, timeout=timeout, kernel_name="python3", config=kernel_config(),
                          resources={"metadata": {"path": str(Path(path).parent)}})
