"""
The Autobahn|Testsuite against wsspec, both sides, on 127.0.0.1.

Run it through ``tests/compliance/run`` (which picks the repository's
``.venv`` Python)::

    tests/compliance/run                         # every case, server and client
    tests/compliance/run --ci                    # the fixed CI selection
    tests/compliance/run --cases '1.*,2.*' --side server

1. Python 2.7 (the testsuite runs on nothing newer) gets a virtualenv in the
   cache directory with ``autobahntestsuite`` and the pinned versions of
   ``requirements-py27.txt``; it is reused by later runs.
2. Server side: ``examples/echo_server.py`` (accepting permessage-deflate)
   listens on 127.0.0.1 and ``wstest -m fuzzingclient`` runs the cases
   against it.
3. Client side: ``wstest -m fuzzingserver`` listens on 127.0.0.1 and
   :func:`echo` from ``examples/echo_client.py`` (offering
   permessage-deflate) runs through every case (``/getCaseCount``,
   ``/runCase?case=N&agent=wsspec``, ``/updateReports``).
4. The reports' ``index.json`` files are summarised per side: the count of
   each result for ``behavior`` and for ``behaviorClose``, and every case
   that is not OK.

``--zlib-backend zlib-ng`` (or ``isal``; or ``$WSSPEC_ZLIB_BACKEND``) makes
the echo server and client compress with that zlib
(``PerMessageDeflate(zlib_backend=...)``); CI runs ``--ci-backend``
(sub-cases 6 and 11 of each 12.x/13.x group) with each.

Exit status: 0 when every case is OK or INFORMATIONAL on the sides run;
1 when some case is worse (or missing from the report); 2 for bad
arguments; 3 when Python 2.7 cannot be found; 4 when the testsuite cannot
be installed; 5 when the testsuite itself fails to run.

wstest runs under ``wstest_loopback.py``, which binds its listening socket
to 127.0.0.1 (wstest's own default is every interface); its web UI is
disabled. Nothing here uses any other address.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXAMPLES = ROOT / "examples"

AUTOBAHN_TESTSUITE = "autobahntestsuite==25.10.1"
#: The last virtualenv able to run on Python 2.7 and create 2.7 environments.
VIRTUALENV = "virtualenv==20.15.1"
REQUIREMENTS = HERE / "requirements-py27.txt"
AGENT = "wsspec"
HOST = "127.0.0.1"  # the only address this run ever uses

#: Sub-cases of every 12.x / 13.x group run in CI: a 16-byte message, a
#: 16 KiB one, an 8 KiB one in 256-byte frames, and a 128 KiB one in 32 KiB
#: frames (each group sends 1000 of them through one data set, 12.x, or one
#: set of deflate parameters, 13.x).
CI_DEFLATE_SUBCASES = (1, 6, 11, 18)
#: The fixed CI selection: sections 1-8 and 10 whole, section 9 whole (it
#: takes about 10 s a side), and CI_DEFLATE_SUBCASES of each of the five
#: 12.x and seven 13.x groups (48 of the 216 permessage-deflate cases). The
#: ids are exact: wstest matches a pattern with a '*' from the start only,
#: so "12.*.1" would also select 12.1.10 to 12.1.18.


def _deflate_cases(subcases: tuple[int, ...]) -> list[str]:
    """The given sub-cases of each of the five 12.x and seven 13.x groups (exact ids)."""
    return ([f"12.{group}.{sub}" for group in range(1, 6) for sub in subcases]
            + [f"13.{group}.{sub}" for group in range(1, 8) for sub in subcases])


CI_CASES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "8.*", "9.*", "10.*"] + _deflate_cases(CI_DEFLATE_SUBCASES)
#: The zlib backends permessage-deflate can run on (``PerMessageDeflate(zlib_backend=...)``).
ZLIB_BACKENDS = ("zlib", "zlib-ng", "isal")
#: The sub-cases CI runs again with each optional backend (``--ci-backend --zlib-backend
#: NAME``): 16 KiB messages and 8 KiB ones in 256-byte frames, through every 12.x data set
#: and every 13.x parameter set (window 8 and 9, no context takeover). Sub-case 1 (16 bytes)
#: is below the compression threshold and 18 (128 KiB in 32 KiB frames) takes 70% of the
#: time (about 16 s a case a side here), so they run with the standard zlib only.
CI_BACKEND_SUBCASES = (6, 11)
CI_BACKEND_CASES = _deflate_cases(CI_BACKEND_SUBCASES)

EXIT_OK = 0
EXIT_NOT_OK = 1
EXIT_USAGE = 2
EXIT_NO_PYTHON27 = 3
EXIT_SETUP_FAILED = 4
EXIT_TESTSUITE_FAILED = 5

#: The results a case can have, in the order they are reported.
RESULTS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
ACCEPTABLE = frozenset({"OK", "INFORMATIONAL"})

NO_PYTHON27 = """\
Python 2.7 was not found. The Autobahn|Testsuite (wstest) runs only on Python 2.7.
Get it with pyenv (https://github.com/pyenv/pyenv):

    pyenv install 2.7.18        # builds into $(pyenv root)/versions/2.7.18

or install a python2.7 from your system's packages, then run this again. To
use one elsewhere, point WSSPEC_PYTHON27 (or --python27) at its interpreter.
"""


class Failure(Exception):
    """The run cannot go on; ``code`` is the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def log(message: str = "") -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------
# Python 2.7 and the testsuite
# ---------------------------------------------------------------------------


def _is_python27(path: str | os.PathLike) -> bool:
    try:
        out = subprocess.run([str(path), "-c", "import sys; print(sys.version_info[:2] == (2, 7))"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == "True"


def _pyenv_pythons() -> list[Path]:
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]))
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            roots.append(Path(subprocess.run([pyenv, "root"], capture_output=True, text=True,
                                             timeout=30).stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    roots.append(Path.home() / ".pyenv")
    found = []
    for root in roots:
        versions = root / "versions"
        if versions.is_dir():
            found += sorted(versions.glob("2.7*/bin/python2.7"), reverse=True)
    return found


def find_python27(explicit: str | None) -> str:
    """The path of a Python 2.7 interpreter: ``explicit``, pyenv's, or on PATH."""
    if explicit:
        if _is_python27(explicit):
            return explicit
        raise Failure(f"{explicit} is not a Python 2.7 interpreter.\n\n{NO_PYTHON27}", EXIT_NO_PYTHON27)
    candidates: list[str] = [str(path) for path in _pyenv_pythons()]
    candidates += [found for found in (shutil.which("python2.7"), shutil.which("python2")) if found]
    for candidate in candidates:
        if _is_python27(candidate):
            return candidate
    raise Failure(NO_PYTHON27, EXIT_NO_PYTHON27)


def _run_logged(command: list[str], log_file: Path, what: str, env: dict[str, str] | None = None) -> None:
    with log_file.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        try:
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=1800)
        except subprocess.TimeoutExpired:
            raise Failure(f"{what}: timed out; see {log_file}", EXIT_SETUP_FAILED) from None
    if result.returncode != 0:
        tail = "".join(log_file.read_text(errors="replace").splitlines(True)[-25:])
        raise Failure(f"{what} failed (exit {result.returncode}); the end of {log_file}:\n{tail}",
                      EXIT_SETUP_FAILED)


def ensure_testsuite(python27: str, cache: Path) -> Path:
    """
    The Python 2.7 virtualenv with the testsuite, made (once) under ``cache``.

    A marker file records what was installed (interpreter, testsuite, pins);
    while it matches, the virtualenv is reused as it is.
    """
    venv = cache / "venv-py27"
    marker = venv / ".wsspec-autobahn"
    stamp = hashlib.sha256("\n".join([
        os.path.realpath(python27), AUTOBAHN_TESTSUITE, VIRTUALENV, REQUIREMENTS.read_text(),
    ]).encode()).hexdigest()
    python = venv / "bin" / "python"
    if marker.is_file() and marker.read_text() == stamp and python.exists():
        log(f"== testsuite: reusing {venv}")
        return venv

    log(f"== testsuite: installing {AUTOBAHN_TESTSUITE} for {python27} into {venv} (once; about a minute)")
    cache.mkdir(parents=True, exist_ok=True)
    install_log = cache / "install.log"
    install_log.write_text("")
    if venv.exists():
        shutil.rmtree(venv)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_WARN_SCRIPT_LOCATION="1")
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    has_virtualenv = subprocess.run([python27, "-c", "import virtualenv"], capture_output=True).returncode == 0
    if not has_virtualenv:
        # Python 2.7 ships no venv module: put virtualenv in a private directory.
        tools = cache / "virtualenv-py27"
        if not (tools / "virtualenv").is_dir():
            _run_logged([python27, "-m", "pip", "install", "--quiet", "--target", str(tools), VIRTUALENV],
                        install_log, "installing virtualenv for Python 2.7", env)
        env_with_tools = dict(env, PYTHONPATH=str(tools))
    else:
        env_with_tools = env
    _run_logged([python27, "-m", "virtualenv", "--quiet", str(venv)], install_log,
                "creating the Python 2.7 virtualenv", env_with_tools)
    _run_logged([str(python), "-m", "pip", "install", "--quiet", "-c", str(REQUIREMENTS), AUTOBAHN_TESTSUITE],
                install_log, f"installing {AUTOBAHN_TESTSUITE}", env)
    _run_logged([str(python), "-c", "import autobahntestsuite.wstest"], install_log,
                "importing the installed testsuite", env)
    marker.write_text(stamp)
    return venv


# ---------------------------------------------------------------------------
# Running wstest
# ---------------------------------------------------------------------------

_CASE_LINE = re.compile(r"Running test case ID (\S+)")
_COUNT_LINE = re.compile(r"will run (\d+) test cases")


class Wstest:
    """One wstest process: its output goes to a log file, section changes to the console."""

    def __init__(self, venv: Path, mode: str, spec: dict, workdir: Path, side: str) -> None:
        self.side = side
        spec_file = workdir / f"{mode}.json"
        spec_file.write_text(json.dumps(spec, indent=2))
        self.log_file = workdir / f"{mode}.log"
        # Where main() keeps the log once the side is done: beside the report.
        self.kept_log = Path(spec["outdir"]) / self.log_file.name
        self._log = self.log_file.open("w")
        self.started = time.monotonic()
        self.case_count: int | None = None  # as wstest announces it
        self._section: str | None = None
        self.ready = threading.Event()
        command = [str(venv / "bin" / "python"), str(HERE / "wstest_loopback.py"),
                   "-m", mode, "-s", str(spec_file), "-u", "0"]
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
        self.process = subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, errors="replace", env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._log.write(line)
            count = _COUNT_LINE.search(line)
            if count:
                self.case_count = int(count.group(1))
                self.ready.set()
            match = _CASE_LINE.search(line)
            if match:
                section = match.group(1).split(".")[0]
                if section != self._section:
                    self._section = section
                    log(f"   {self.side}: section {section} from case {match.group(1)} "
                        f"at {time.monotonic() - self.started:6.1f} s")
        self._log.flush()
        self.ready.set()

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise Failure(f"wstest did not finish within {timeout:.0f} s; see {self.kept_log}",
                          EXIT_TESTSUITE_FAILED) from None
        self._reader.join(10)
        self._log.close()
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(10)
        if not self._log.closed:
            self._log.close()


def _load_example(name: str):
    """Import ``examples/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"wsspec_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def run_server_side(venv: Path, cases: list[str], reports: Path, workdir: Path, timeout: float,
                    zlib_backend: str = "zlib") -> int | None:
    """wstest's fuzzing client against ``examples/echo_server.py``; returns the number of cases run."""
    server = subprocess.Popen([sys.executable, str(EXAMPLES / "echo_server.py"), "--host", HOST, "--port", "0",
                               "--zlib-backend", zlib_backend],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
        if not match:
            raise Failure(f"examples/echo_server.py did not start: {line}{server.stdout.read()}",
                          EXIT_TESTSUITE_FAILED)
        url = f"ws://{HOST}:{match.group(1)}"
        log(f"   server: examples/echo_server.py on {url}")

        def keep_output() -> None:  # anything the server prints (e.g. a traceback) goes to its log
            with (workdir / "echo_server.log").open("w") as out:
                shutil.copyfileobj(server.stdout, out)  # type: ignore[arg-type]

        threading.Thread(target=keep_output, daemon=True).start()
        spec = {
            "outdir": str(reports / "servers"),
            "servers": [{"agent": AGENT, "url": url, "options": {"failByDrop": False}}],
            "cases": cases,
            "exclude-cases": [],
            "exclude-agent-cases": {},
        }
        wstest = Wstest(venv, "fuzzingclient", spec, workdir, "server")
        try:
            code = wstest.wait(timeout)
        finally:
            wstest.stop()
        if code != 0:
            raise Failure(f"wstest -m fuzzingclient exited with {code}; see {wstest.kept_log}", EXIT_TESTSUITE_FAILED)
        return wstest.case_count
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def _drive_client(port: int, case_timeout: float, wstest: Wstest, zlib_backend: str = "zlib") -> int:
    """Run every case of the fuzzing server on ``port`` with the example echo client."""
    from wsspec.utilities import ProtocolError

    echo_client = _load_example("echo_client")

    async def command(target: str, timeout: float) -> list[str | bytes]:
        """One of wstest's command URLs; returns the messages it answered with."""
        answered: list[str | bytes] = []
        try:
            await asyncio.wait_for(echo_client.echo(HOST, port, target, reply=False, on_message=answered.append),
                                   timeout)
        except (OSError, ProtocolError, asyncio.TimeoutError) as exc:
            raise Failure(f"wstest's {target} failed: {type(exc).__name__}: {exc}; see {wstest.kept_log}",
                          EXIT_TESTSUITE_FAILED) from None
        return answered

    announced = await command("/getCaseCount", 30)
    if len(announced) != 1 or not str(announced[0]).isdigit():
        raise Failure(f"/getCaseCount answered {announced!r}", EXIT_TESTSUITE_FAILED)
    count = int(announced[0])
    for case in range(1, count + 1):
        try:
            await asyncio.wait_for(echo_client.echo(HOST, port, f"/runCase?case={case}&agent={AGENT}",
                                                    zlib_backend=zlib_backend),
                                   case_timeout)
        except asyncio.TimeoutError:
            log(f"   client: case number {case} did not end within {case_timeout:.0f} s")
        except (OSError, ProtocolError) as exc:  # the report tells what went wrong
            log(f"   client: case number {case}: {type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug on our side: say so, and go on with the next case
            log(f"   client: case number {case}: unexpected {type(exc).__name__}: {exc}")
        if wstest.process.poll() is not None:
            raise Failure(f"wstest -m fuzzingserver exited during case number {case}; see {wstest.kept_log}",
                          EXIT_TESTSUITE_FAILED)
    await command(f"/updateReports?agent={AGENT}", 600)
    return count


def run_client_side(venv: Path, cases: list[str], reports: Path, workdir: Path, case_timeout: float,
                    zlib_backend: str = "zlib") -> int | None:
    """``examples/echo_client.py`` against wstest's fuzzing server; returns the number of cases run."""
    port = _free_port()
    spec = {
        "url": f"ws://{HOST}:{port}",
        "outdir": str(reports / "clients"),
        "cases": cases,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }
    wstest = Wstest(venv, "fuzzingserver", spec, workdir, "client")
    try:
        if not wstest.ready.wait(60) or wstest.process.poll() is not None:
            raise Failure(f"wstest -m fuzzingserver did not start; see {wstest.kept_log}", EXIT_TESTSUITE_FAILED)
        deadline = time.monotonic() + 30
        while True:  # the banner comes before the socket listens
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise Failure(f"wstest -m fuzzingserver is not listening on {HOST}:{port}; see "
                                  f"{wstest.kept_log}", EXIT_TESTSUITE_FAILED) from None
                time.sleep(0.1)
        log(f"   client: wstest fuzzing server on ws://{HOST}:{port}")
        return asyncio.run(_drive_client(port, case_timeout, wstest, zlib_backend))
    finally:
        wstest.stop()


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


class Summary(NamedTuple):
    """One side's verdict: the lines to print, and the cases that passed and failed."""

    lines: list[str]
    passed: int  # OK or INFORMATIONAL for both behavior and behaviorClose
    failed: int  # anything worse, or missing from the report

    @property
    def good(self) -> bool:
        return self.failed == 0 and self.passed > 0


def summarize(index_file: Path, title: str, expected: int | None = None) -> Summary:
    """
    Summarise one side's ``index.json``.

    :param expected: the number of cases that were run, if known; cases
        missing from the report count as failed.
    """
    if not index_file.is_file():
        return Summary([f"{title}: no report at {index_file}"], 0, expected or 1)
    index = json.loads(index_file.read_text())
    results = index.get(AGENT)
    if not results:
        return Summary([f"{title}: no results for agent {AGENT!r} in {index_file}"], 0, expected or 1)

    def case_key(case_id: str) -> tuple[int, ...]:
        return tuple(int(part) for part in case_id.split("."))

    lines = [f"{title}: {len(results)} cases"]
    missing = max(0, (expected or 0) - len(results))
    if expected is not None and expected != len(results):
        lines.append(f"  MISSING: {expected} cases were run, {len(results)} reported")
        missing = max(missing, 1)
    for field in ("behavior", "behaviorClose"):
        counts = Counter(result[field] for result in results.values())
        names = list(RESULTS) + sorted(set(counts) - set(RESULTS))
        lines.append(f"  {field + ':':15}" + ", ".join(f"{name} {counts.get(name, 0)}" for name in names))
    passed = sum(1 for result in results.values() if {result["behavior"], result["behaviorClose"]} <= ACCEPTABLE)
    not_ok = [(case_id, result) for case_id, result in results.items()
              if result["behavior"] != "OK" or result["behaviorClose"] != "OK"]
    if not_ok:
        lines.append("  not OK:")
        for case_id, result in sorted(not_ok, key=lambda item: case_key(item[0])):
            verdict = "acceptable" if {result["behavior"], result["behaviorClose"]} <= ACCEPTABLE else "FAIL"
            lines.append(f"    {case_id:10} behavior={result['behavior']:14} behaviorClose={result['behaviorClose']:14}"
                         f" {verdict:10} {index_file.parent / result['reportfile']}")
    else:
        lines.append("  not OK: none")
    return Summary(lines, passed, len(results) - passed + missing)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def _default_cache() -> Path:
    if os.environ.get("WSSPEC_AUTOBAHN_CACHE"):
        return Path(os.environ["WSSPEC_AUTOBAHN_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "wsspec-autobahn"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tests/compliance/run",
        description="Run the Autobahn|Testsuite against wsspec's echo server and echo client (127.0.0.1 only).",
        epilog="Exit status: 0 all OK/INFORMATIONAL, 1 some case worse, 2 bad arguments, 3 no Python 2.7, "
               "4 testsuite install failed, 5 testsuite failed to run.",
    )
    selection = parser.add_mutually_exclusive_group()
    selection.add_argument("--cases", help="comma-separated case ids or patterns, e.g. '1.*,2.*,9.1.1' (default: "
                                           "every case); as wstest reads them, a pattern with '*' matches from the "
                                           "start of the id: '12.1.1*' is 12.1.1 and 12.1.10-18")
    selection.add_argument("--ci", action="store_true",
                           help="the fixed CI selection: sections 1-10 whole plus sub-cases "
                                f"{', '.join(map(str, CI_DEFLATE_SUBCASES))} of every 12.x and 13.x group")
    selection.add_argument("--ci-backend", action="store_true",
                           help="what CI runs with each optional --zlib-backend: sub-cases "
                                f"{', '.join(map(str, CI_BACKEND_SUBCASES))} of every 12.x and 13.x group")
    parser.add_argument("--zlib-backend", choices=ZLIB_BACKENDS,
                        default=os.environ.get("WSSPEC_ZLIB_BACKEND", "zlib"),
                        help="the zlib the echo server and client compress with (PerMessageDeflate(zlib_backend=...); "
                             "default: $WSSPEC_ZLIB_BACKEND or the standard zlib); its reports go to "
                             "reports-NAME in the cache for zlib-ng and isal")
    parser.add_argument("--side", choices=("server", "client", "both"), default="both",
                        help="test the echo server, the echo client, or both (default)")
    parser.add_argument("--python27", default=os.environ.get("WSSPEC_PYTHON27"),
                        help="the Python 2.7 interpreter (default: $WSSPEC_PYTHON27, pyenv's 2.7.x, python2.7 on PATH)")
    parser.add_argument("--cache", type=Path, default=_default_cache(),
                        help="where the Python 2.7 virtualenv and the reports live "
                             "(default: $WSSPEC_AUTOBAHN_CACHE or ~/.cache/wsspec-autobahn)")
    parser.add_argument("--case-timeout", type=float, default=300.0,
                        help="client side: seconds one case may take before it is abandoned (default 300)")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="server side: seconds the whole fuzzing client run may take (default 3600)")
    args = parser.parse_args(argv)
    if args.zlib_backend not in ZLIB_BACKENDS:
        parser.error(f"--zlib-backend (or $WSSPEC_ZLIB_BACKEND) must be one of {', '.join(ZLIB_BACKENDS)}, "
                     f"got {args.zlib_backend!r}")
    if args.ci:
        args.case_list = list(CI_CASES)
    elif args.ci_backend:
        args.case_list = list(CI_BACKEND_CASES)
    elif args.cases:
        args.case_list = [pattern.strip() for pattern in args.cases.split(",") if pattern.strip()]
        bad = [pattern for pattern in args.case_list if not re.fullmatch(r"[0-9*]+(\.[0-9*]+)*", pattern)]
        if bad or not args.case_list:
            parser.error(f"--cases takes patterns such as '1.*' or '9.1.1', got {args.cases!r}")
    else:
        args.case_list = ["*"]
    args.cache = args.cache.expanduser().resolve()
    if args.cache == ROOT or ROOT in args.cache.parents:
        parser.error(f"--cache must be outside the repository ({ROOT})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Terminated (e.g. by a CI time limit): unwind, so that the echo server
    # and wstest processes are stopped by the ``finally`` clauses.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = time.monotonic()
    sides = ["server", "client"] if args.side == "both" else [args.side]
    # The echo server and client run on this interpreter's wsspec: say which
    # build (issue 13), and refuse to run on another than CI asked for.
    import wsspec

    log(f"== wsspec build: {wsspec.BUILD} (masking: {wsspec.masking.BACKEND})")
    expected = os.environ.get("WSSPEC_EXPECT_BUILD")
    if expected and wsspec.BUILD != expected:
        print(f"expected the {expected} build of wsspec, found the {wsspec.BUILD} build", file=sys.stderr)
        return 2
    try:
        python27 = find_python27(args.python27)
        venv = ensure_testsuite(python27, args.cache)
        reports = args.cache / ("reports" if args.zlib_backend == "zlib" else f"reports-{args.zlib_backend}")
        selection = ("the CI selection: sections 1-10, sub-cases "
                     f"{','.join(map(str, CI_DEFLATE_SUBCASES))} of each 12.x and 13.x group"
                     if args.ci else
                     f"sub-cases {','.join(map(str, CI_BACKEND_SUBCASES))} of each 12.x and 13.x group"
                     if args.ci_backend else ",".join(args.case_list))
        log(f"== cases: {selection}; sides: {', '.join(sides)}; zlib backend: {args.zlib_backend}; "
            f"reports: {reports}")
        if args.zlib_backend != "zlib":
            from wsspec.extensions import PerMessageDeflate

            try:
                PerMessageDeflate(zlib_backend=args.zlib_backend)
            except ValueError as exc:  # ConfigurationError: not installed, and the extra to install
                raise Failure(str(exc), EXIT_SETUP_FAILED) from None
        timings: dict[str, float] = {}
        counts: dict[str, int | None] = {}
        with tempfile.TemporaryDirectory(prefix="wsspec-autobahn-") as tmp:
            for side in sides:
                outdir = reports / ("servers" if side == "server" else "clients")
                if outdir.exists():
                    shutil.rmtree(outdir)
                workdir = Path(tmp) / side
                workdir.mkdir()
                log(f"== {side} side")
                side_started = time.monotonic()
                try:
                    if side == "server":
                        counts[side] = run_server_side(venv, args.case_list, reports, workdir, args.timeout,
                                                       args.zlib_backend)
                    else:
                        counts[side] = run_client_side(venv, args.case_list, reports, workdir, args.case_timeout,
                                                       args.zlib_backend)
                finally:
                    # The logs outlive the temporary directory, beside the report.
                    outdir.mkdir(parents=True, exist_ok=True)
                    for log_file in sorted(workdir.glob("*.log")):
                        shutil.copyfile(log_file, outdir / log_file.name)
                    log(f"   logs: {outdir}/*.log")
                timings[side] = time.monotonic() - side_started
    except Failure as exc:
        print(str(exc).rstrip(), file=sys.stderr, flush=True)
        return exc.code

    log("")
    passed = failed = 0
    for side in sides:
        folder, program = ("servers", "echo_server.py") if side == "server" else ("clients", "echo_client.py")
        summary = summarize(reports / folder / "index.json",
                                f"{side} side (examples/{program}, {timings[side]:.1f} s)", counts[side])
        passed += summary.passed
        failed += summary.failed
        log("\n".join(summary.lines))
        log("")
    log(f"HTML reports: {reports / 'servers' / 'index.html'}, {reports / 'clients' / 'index.html'}"
        if len(sides) == 2 else f"HTML report: {reports / (sides[0] + 's') / 'index.html'}")
    total = time.monotonic() - started
    # Last, a plain closing line: cases (per side) OK or INFORMATIONAL, and the others.
    if failed == 0 and passed > 0:
        log(f"every case OK or INFORMATIONAL ({total:.1f} s)")
        log(f"compliance: {passed} passed, 0 failed")
        return EXIT_OK
    log(f"some case is worse than OK or INFORMATIONAL, or missing ({total:.1f} s)")
    log(f"compliance: {passed} passed, {failed} failed")
    return EXIT_NOT_OK


if __name__ == "__main__":
    sys.exit(main())
