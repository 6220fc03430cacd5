"""The README's examples, run in order the way a new user runs them.

How to mark an example: put the line

    <!-- readme-test -->

right before a fenced ```sh or ```bash block of README.md. Every marked block is run, in the
order of the README, against one live `clientscore demo` server (a real process on a free port,
with a smaller book than `make run`'s) in a scratch folder that holds copies of the project's
models/, rules/, examples/ and deploy/, its .venv (a link to the one running the tests) and the
embedded SQLite database the demo makes there (./var/clientscore.db). For each block:

- it runs in its own `bash` from the scratch folder with `set -e`: every command must exit 0;
- `curl` is a function that adds `--fail-with-body`, so an HTTP status of 400 or more fails the
  block, and prints each answer's status on stderr; `localhost:8000` in its arguments reaches the
  demo server's port;
- `clientscore` is this checkout's command; shell variables a block sets (`KEY=...`, `export
  ...`) are there in the blocks after it, as in one terminal;
- nothing is given that the README does not show: a block gets the demo key the way a reader
  does (`KEY=$(cat var/demo/key)`).

A block that starts a server (`make run`) or needs what the test machine lacks stays unmarked.
After the last block the scratch copies of models/ and rules/ must be unchanged: examples that
change state change the demo's own copies under var/demo/.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_server import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = "<!-- readme-test -->"
SHIPPED = ("models", "rules", "examples", "deploy")
DEMO_PORT = "localhost:8000"
# A block that trains a model takes a minute on a loaded 2-core machine; a hung one still ends.
BLOCK_SECONDS = 600
# `make run` loads 20,000 clients; a smaller book serves every example as well, sooner.
DEMO_CLIENTS = 2_000
pytestmark = pytest.mark.e2e

_FENCE = re.compile(r"^```(sh|bash)\s*$")
# Runs before each block: the README's `curl` with a failing status, the port of the demo.
_PRELUDE = """\
set -eEo pipefail
trap 'echo "readme-test: exit $? from: $BASH_COMMAND" >&2' ERR
curl() {
    local args=() arg
    for arg in "$@"; do args+=("${arg//__DEMO__/__SERVER__}"); done
    command curl --silent --show-error --fail-with-body \\
        --write-out '%{stderr}[HTTP %{http_code}]\\n' "${args[@]}" || return
    echo
}
[ ! -f __STATE__ ] || . __STATE__
set -a
"""
# Runs after it: what it set is kept for the next block.
_EPILOGUE = "\nset +a\nexport -p > __STATE__\n"


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence in README.md
    code: str


def marked_blocks(text: str) -> list[Block]:
    """The fenced shell blocks that follow the marker (blank lines between are allowed)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    armed = False
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if line == MARKER:
            armed = True
        elif armed and _FENCE.match(line):
            end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
            blocks.append(Block(line=index + 1, code="\n".join(lines[index + 1 : end])))
            armed = False
            index = end
        elif line and armed:
            raise AssertionError(f"README.md:{index + 1}: {MARKER} is not before a sh block")
        index += 1
    return blocks


def test_marked_blocks_are_found_in_order() -> None:
    marked = [MARKER, "", "```sh", "echo one", "```"]
    unmarked = ["```sh", "echo not marked", "```"]
    text = "\n".join(["intro", *marked, *unmarked, MARKER, "```bash", "echo two", "```"])
    assert marked_blocks(text) == [Block(4, "echo one"), Block(11, "echo two")]
    with pytest.raises(AssertionError, match="not before a sh block"):
        marked_blocks(f"{MARKER}\nsome prose\n```sh\necho\n```")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    for name in SHIPPED:
        shutil.copytree(
            ROOT / name,
            folder / name,
            ignore=shutil.ignore_patterns("versions", "active.json", ".active.lock"),
        )
    venv = Path(sys.prefix)
    assert (venv / "bin" / "activate").is_file(), f"the tests must run in a venv, not {venv}"
    (folder / ".venv").symlink_to(venv)
    return folder


@pytest.fixture
def user_env() -> dict[str, str]:
    """A reader's shell: no CLIENTSCORE_* setting of the test run, this checkout's command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTSCORE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CLIENTSCORE_LOG_LEVEL"] = "WARNING"
    # The tests share the machine's cores: LightGBM's OpenMP threads would wait on each other.
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture
def demo(scratch: Path, user_env: dict[str, str]) -> Iterator[tuple[int, Path]]:
    """`clientscore demo` (what `make run` runs) on a free port in the scratch folder."""
    port = free_port()
    log = scratch.parent / "demo.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                *(str(Path(sys.executable).parent / "clientscore"), "demo", "--port", str(port)),
                *("--clients", str(DEMO_CLIENTS)),
            ],
            cwd=scratch,
            env=user_env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        started = time.monotonic()
        deadline = started + 180
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(f"the demo did not become ready:\n{log.read_text()}")
        sys.stderr.write(f"the demo is ready in {time.monotonic() - started:.1f} s\n")
        yield port, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_block(
    block: Block, *, cwd: Path, env: dict[str, str], port: int, state: Path
) -> subprocess.CompletedProcess[str]:
    """One block in its own bash, with the variables of the blocks before it."""
    script = (
        _PRELUDE.replace("__DEMO__", DEMO_PORT)
        .replace("__SERVER__", f"localhost:{port}")
        .replace("__STATE__", str(state))
        + block.code
        + _EPILOGUE.replace("__STATE__", str(state))
    )
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_SECONDS,
    )


def test_a_failing_command_or_http_status_fails_its_block(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    (tmp_path / "here.txt").write_text("here\n")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/here.txt", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)

        def outcome(code: str) -> subprocess.CompletedProcess[str]:
            block = Block(line=1, code=code)
            return run_block(block, cwd=tmp_path, env=user_env, port=port, state=tmp_path / "s")

        assert outcome("WHO=reader").returncode == 0
        assert outcome('[ "$WHO" = reader ]').returncode == 0  # a variable lives on
        assert outcome("true\nfalse\ntrue").returncode == 1
        found = outcome("curl localhost:8000/here.txt")
        assert found.returncode == 0
        assert found.stdout == "here\n\n"
        assert "[HTTP 200]" in found.stderr
        missing = outcome("curl localhost:8000/nowhere.txt\necho not reached")
        assert missing.returncode == 22
        assert "[HTTP 404]" in missing.stderr
        assert "not reached" not in missing.stdout
        assert outcome("curl localhost:8000/nowhere.txt | cat").returncode == 22
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_readme_examples_run_as_written(
    scratch: Path, user_env: dict[str, str], demo: tuple[int, Path]
) -> None:
    port, log = demo
    blocks = marked_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5, "the README's examples are not marked"
    shipped = {name: _digest(scratch / name) for name in ("models", "rules")}
    state = scratch.parent / "shell-state"
    for block in blocks:
        started = time.monotonic()
        done = run_block(block, cwd=scratch, env=user_env, port=port, state=state)
        if done.returncode != 0:
            pytest.fail(
                f"README.md:{block.line}: the block failed (exit {done.returncode})\n"
                f"--- block\n{block.code}\n--- stdout\n{done.stdout[-3000:]}\n"
                f"--- stderr\n{done.stderr[-3000:]}\n--- demo server\n{log.read_text()[-2000:]}"
            )
        sys.stderr.write(f"README.md:{block.line}: {time.monotonic() - started:.1f} s\n")
    for name, files in shipped.items():
        assert _digest(scratch / name) == files, f"the README's examples changed {name}/"
