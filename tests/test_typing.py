"""
Strict typing as a consumer sees it: the built wheel, installed in a fresh
venv (with h11 and wsproto 1.3.2 only), type-checks clean under
``mypy --strict -p wsspec`` and pyright (basic), and so does
tests/typing_consumer/consumer.py, a module that uses wsspec the way
uvicorn, hypercorn and trio-websocket use wsproto, both against wsspec and,
with the import swapped, against wsproto: a consumer sees the same types.

mypy and pyright are the pinned ones of the dev extra (pyproject.toml), run
from the test environment with ``--python-executable`` / ``--pythonpath``
pointing at the fresh venv, so only the installed wheel is checked. A
missing tool fails the tests (nothing is skipped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSUMER = ROOT / "tests" / "typing_consumer" / "consumer.py"
LIBRARIES = ("wsspec", "wsproto")
# The consumer with a wrong assert_type: both tools must report exactly it.
BROKEN = ("assert_type(event.code, int)", "assert_type(event.code, str)")


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp dir holding a fresh venv with the wheel installed, a pyright
    config (basic mode) and the consumer, once per library (``consumer_<library>/``)
    and once broken (``broken/``)."""
    root = tmp_path_factory.mktemp("typing")
    built = _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(root / "dist"), str(ROOT)], ROOT)
    assert built.returncode == 0, _report(built)
    (wheel,) = (root / "dist").glob("wsspec-*.whl")
    venv.EnvBuilder(with_pip=False).create(root / "venv")
    python = _python(root)
    # The test environment's pip installs into the fresh venv (no ensurepip: faster).
    installed = _run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                      "--disable-pip-version-check", str(wheel), "wsproto==1.3.2"], root)
    assert installed.returncode == 0, _report(installed)
    where = _run([python, "-c", "import os, wsspec; print(os.path.dirname(wsspec.__file__))"], root)
    assert where.returncode == 0 and "site-packages" in where.stdout, _report(where)
    (root / "package_dir").write_text(where.stdout.strip())
    (root / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "basic", "pythonVersion": "3.11"}))
    source = CONSUMER.read_text()
    assert BROKEN[0] in source
    for name, text in [(f"consumer_{library}", source.replace("wsspec", library)) for library in LIBRARIES] + [
        ("broken", source.replace(*BROKEN))
    ]:
        # For wsproto every name, import and module path `wsspec` becomes `wsproto`.
        (root / name).mkdir()
        (root / name / "consumer.py").write_text(text)
    assert "wsspec" not in (root / "consumer_wsproto" / "consumer.py").read_text()
    return root


def _python(workdir: Path) -> str:
    return str(workdir / "venv" / "bin" / "python")


def _mypy(workdir: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    return _run([sys.executable, "-m", "mypy", "--strict", "--python-executable", _python(workdir),
                 "--cache-dir", str(workdir / ".mypy_cache"), "--no-error-summary", *targets], workdir, env)


@pytest.fixture(scope="module")
def pyright(workdir: Path) -> tuple[dict[str, Any], str]:
    """One pyright (basic) run over the installed package and the three consumers
    (pyright starts slowly): its JSON output and the whole report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRIGHT_PYTHON_FORCE")}
    env["PYRIGHT_PYTHON_IGNORE_WARNINGS"] = "1"  # no version check against PyPI
    targets = [(workdir / "package_dir").read_text()] + [
        f"{name}/consumer.py" for name in ("consumer_wsspec", "consumer_wsproto", "broken")
    ]
    result = _run([sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", _python(workdir), *targets],
                  workdir, env)
    try:
        output = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"pyright did not run:\n{_report(result)}")
    assert output["summary"]["filesAnalyzed"] >= 18 + 3, _report(result)
    return output, _report(result)


def _pyright_problems(pyright: tuple[dict[str, Any], str], under: Path) -> list[str]:
    """pyright's errors and warnings for the files under ``under``, one line each."""
    output, _ = pyright
    return [
        f"{d['file']}:{d['range']['start']['line'] + 1}: {d['severity']}: {d['message']} ({d.get('rule')})"
        for d in output["generalDiagnostics"]
        if d["severity"] in ("error", "warning") and Path(d["file"]).is_relative_to(under)
    ]


def test_mypy_strict_installed_package(workdir: Path) -> None:
    result = _mypy(workdir, "-p", "wsspec")
    assert result.returncode == 0 and not result.stdout.strip(), _report(result)
    # It checked the installed copy, generated tables included.
    listed = _mypy(workdir, "-p", "wsspec", "--verbose")
    assert "site-packages/wsspec/_generated/connection.py" in listed.stderr, _report(listed)


@pytest.mark.parametrize("library", LIBRARIES)
def test_mypy_strict_consumer(workdir: Path, library: str) -> None:
    result = _mypy(workdir, f"consumer_{library}/consumer.py")
    assert result.returncode == 0 and not result.stdout.strip(), _report(result)


def test_pyright_basic_installed_package(workdir: Path, pyright: tuple[dict[str, Any], str]) -> None:
    problems = _pyright_problems(pyright, Path((workdir / "package_dir").read_text()))
    assert not problems, "pyright (basic) on the installed wsspec:\n" + "\n".join(problems)


@pytest.mark.parametrize("library", LIBRARIES)
def test_pyright_basic_consumer(workdir: Path, pyright: tuple[dict[str, Any], str], library: str) -> None:
    problems = _pyright_problems(pyright, workdir / f"consumer_{library}")
    assert not problems, f"pyright (basic) on the consumer against {library}:\n" + "\n".join(problems)


@pytest.mark.parametrize("library", LIBRARIES)
def test_consumer_runs(workdir: Path, library: str) -> None:
    """The consumer is real code: it runs against both libraries."""
    result = _run([_python(workdir), f"consumer_{library}/consumer.py"], workdir)
    assert result.returncode == 0, _report(result)
    assert result.stdout.strip() == f"consumer ok {library}"


def test_consumer_check_can_fail(workdir: Path, pyright: tuple[dict[str, Any], str]) -> None:
    """The consumer's assert_type checks bite: a wrong type is reported by both tools."""
    result = _mypy(workdir, "broken/consumer.py")
    assert result.returncode == 1, _report(result)
    assert result.stdout.count("error:") == 1 and "[assert-type]" in result.stdout, _report(result)
    problems = _pyright_problems(pyright, workdir / "broken")
    assert len(problems) == 1 and "assert_type" in problems[0], problems
    # Everything else pyright found is accounted for by the tests above.
    assert pyright[0]["summary"]["errorCount"] == len(problems) + sum(
        len(_pyright_problems(pyright, workdir / f"consumer_{library}")) for library in LIBRARIES
    ) + len(_pyright_problems(pyright, Path((workdir / "package_dir").read_text()))), pyright[1]
