"""Proving a model file loadable in a child process before the serving process loads it.

LightGBM aborts the whole process on some malformed model texts (a file cut short, for
one) instead of raising. A child process loads the text and predicts a probe row first; if
it dies, the version is refused with what it said, and the caller lives on. The child is
kept between probes (importing LightGBM costs more than loading a model) and started again
after one died.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO

from app.errors import ModelInvalid

PROBE_TIMEOUT_SECONDS = 120
_DONE = b"clientscore-probe-ok\n"
# Reads length-prefixed model texts from stdin, answers each with _DONE on stdout (LightGBM
# may print its own lines there too). It needs LightGBM and NumPy only: the optional
# libraries LightGBM looks for would make its import take seconds.
_PROBE = f"""
import sys
for optional in ("sklearn", "pandas", "dask", "matplotlib", "graphviz", "pyarrow", "datatable"):
    sys.modules[optional] = None
import lightgbm, numpy
while header := sys.stdin.buffer.read(8):
    text = sys.stdin.buffer.read(int.from_bytes(header, "big")).decode()
    booster = lightgbm.Booster(model_str=text)
    scores = booster.predict(numpy.zeros((1, booster.num_feature())), num_threads=1)
    assert scores.shape[0] == 1
    sys.stdout.buffer.write({_DONE!r})
    sys.stdout.buffer.flush()
"""


class _Prober:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._proven: set[str] = set()  # sha256 of model texts proven loadable

    def prove(self, where: str, model_bytes: bytes) -> None:
        digest = hashlib.sha256(model_bytes).hexdigest()
        with self._lock:
            if digest in self._proven:
                return
            reason = self._probe(model_bytes)
            if reason is not None:
                raise ModelInvalid(f"{where}: LightGBM cannot load model.txt: {reason}")
            self._proven.add(digest)

    def close(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            _close_quietly(child.stdin)
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            _close_quietly(child.stdout)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _probe(self, model_bytes: bytes) -> str | None:
        child, stderr = self._running()
        said_from = os.fstat(stderr.fileno()).st_size
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            child.stdin.write(len(model_bytes).to_bytes(8, "big") + model_bytes)
            child.stdin.flush()
        except BrokenPipeError:
            pass  # it died on the text: the answer below says how
        deadline = time.monotonic() + PROBE_TIMEOUT_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([child.stdout], [], [], left)
            if not ready:
                break
            line = child.stdout.readline()
            if line == _DONE:
                return None
            if not line:  # the child is gone
                return self._death(child, stderr, said_from)
        self.close()
        return f"loading it took over {PROBE_TIMEOUT_SECONDS} s in a probe process"

    def _running(self) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
        if self._child is None or self._stderr is None or self._child.poll() is not None:
            self.close()
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the child)
            self._child = subprocess.Popen(
                [sys.executable, "-c", _PROBE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )
        return self._child, self._stderr

    def _death(self, child: subprocess.Popen[bytes], stderr: IO[bytes], said_from: int) -> str:
        code = child.wait()
        said = os.pread(stderr.fileno(), 1 << 20, said_from).decode(errors="replace")
        self.close()
        lines = [line.strip() for line in said.splitlines() if line.strip()]
        fatal = [line for line in lines if "[Fatal]" in line or "Error" in line]
        what = (fatal or lines or ["no message"])[0][:300]
        if code < 0:
            return f"the probe process died of {signal.Signals(-code).name} ({what})"
        return what


def _close_quietly(stream: IO[bytes] | None) -> None:
    if stream is not None:
        with contextlib.suppress(BrokenPipeError):
            stream.close()


_prober = _Prober()
atexit.register(_prober.close)


def prove_loadable(where: str, model_bytes: bytes) -> None:
    """Raise ModelInvalid unless a child process can load `model_bytes` and predict."""
    _prober.prove(where, model_bytes)
