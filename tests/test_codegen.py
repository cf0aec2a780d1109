"""
Tests of the generator: spec/*.yaml -> generated/*.py and diagrams/*.{dot,svg}.

Every test runs ``python -m codegen`` as a subprocess with the venv's Python
(exit codes and stderr are part of the contract), against copies of the
repository's spec/, generated/ and diagrams/ in ``tmp_path``; only
``test_check_passes_on_committed_repo`` looks at the repository in place,
and nothing here writes to it.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON if _VENV_PYTHON.exists() else Path(sys.executable))

SPEC_FILES = ("opcodes.yaml", "close_codes.yaml", "framing.yaml", "connection.yaml", "handshake.yaml",
              "permessage_deflate.yaml")

#: Every file the generator produces, and the spec files each one is generated from
#: (in the order the do-not-edit header names them).
OUTPUT_SOURCES: dict[str, tuple[str, ...]] = {
    "generated/__init__.py": tuple(f"spec/{name}" for name in SPEC_FILES),
    "generated/opcodes.py": ("spec/opcodes.yaml",),
    "generated/close_codes.py": ("spec/close_codes.yaml",),
    "generated/framing.py": ("spec/framing.yaml",),
    "generated/connection.py": ("spec/connection.yaml", "spec/opcodes.yaml"),
    "generated/handshake.py": ("spec/handshake.yaml", "spec/connection.yaml"),
    "diagrams/connection.dot": ("spec/connection.yaml",),
    "diagrams/fragmentation.dot": ("spec/opcodes.yaml",),
    "diagrams/handshake.dot": ("spec/handshake.yaml", "spec/connection.yaml"),
    "generated/permessage_deflate.py": ("spec/permessage_deflate.yaml", "spec/connection.yaml"),
    "docs/protocol/connection.rst": ("spec/connection.yaml",),
    "docs/protocol/handshake.rst": ("spec/handshake.yaml", "spec/connection.yaml"),
    "docs/protocol/framing.rst": ("spec/opcodes.yaml", "spec/framing.yaml"),
    "docs/protocol/close_codes.rst": ("spec/close_codes.yaml",),
    "docs/protocol/permessage_deflate.rst": ("spec/permessage_deflate.yaml", "spec/connection.yaml"),
    "generated/constants.pxd": ("spec/framing.yaml", "spec/opcodes.yaml", "spec/close_codes.yaml"),
}
SVG_SOURCES = {
    "diagrams/connection.svg": "diagrams/connection.dot",
    "diagrams/fragmentation.svg": "diagrams/fragmentation.dot",
    "diagrams/handshake.svg": "diagrams/handshake.dot",
}
ALL_OUTPUTS = frozenset(OUTPUT_SOURCES) | frozenset(SVG_SOURCES)
#: The folders the generator writes (docs/protocol: the protocol reference pages).
OUTPUT_FOLDERS = ("generated", "diagrams", "docs/protocol")

# Spec text edited by several tests; each must occur exactly once in its file.
GOING_AWAY_DOC = (
    "    doc: An endpoint is going away, such as a server going down or a browser navigating away from a page.\n"
)
OPEN_DOC = "    doc: The opening handshake is complete; data and control frames flow both ways.\n"


# --- helpers ------------------------------------------------------------------


def run_codegen(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m codegen ARGS`` from the repository root."""
    env = {**(os.environ if env is None else env), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [PYTHON, "-m", "codegen", *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_repo(tmp_path: Path, outputs: bool = True) -> Path:
    """Copy spec/ (and, with ``outputs``, generated/ and diagrams/) to tmp_path/repo."""
    root = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "spec", root / "spec", ignore=ignore)
    if outputs:
        for folder in OUTPUT_FOLDERS:
            shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    return root


def edit(path: Path, old: str, new: str) -> str:
    """Replace the single occurrence of ``old`` in ``path``; return the new text."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur exactly once in {path.name}"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text


def line_of(text: str, needle: str) -> int:
    """1-based line of the single occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, f"{needle!r} should occur exactly once"
    return text[: text.index(needle)].count("\n") + 1


def outputs_in(root: Path) -> dict[str, bytes]:
    """Every file under the output folders of root (bytes), by relative path."""
    files = {}
    for folder in OUTPUT_FOLDERS:
        base = root / folder
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file():
                    files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime (ns) of every file under the output folders of root."""
    return {rel: (data, (root / rel).stat().st_mtime_ns) for rel, data in outputs_in(root).items()}


def age_outputs(root: Path) -> None:
    """Give every output an old, distinctive mtime so that any rewrite shows."""
    for rel in outputs_in(root):
        os.utime(root / rel, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}


def stale_listed(stderr: str) -> set[str]:
    """The file names ``--check`` lists on stderr (indented lines)."""
    return {line.split()[0] for line in stderr.splitlines() if line.startswith("  ") and line.strip()}


def without_dot(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH holds only an empty folder, so `dot` cannot be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    assert shutil.which("dot", path=str(empty)) is None
    return {**os.environ, "PATH": str(empty)}


def load_generated_package(folder: Path, name: str):
    """Import ``folder`` (a generated/ tree) as the package ``name``."""
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)
    return package


def svg_stamp(svg: str) -> tuple[str, str]:
    match = re.search(r"<!-- wsspec: rendered from (\S+) sha256=([0-9a-f]{64}) -->", svg)
    assert match, "the SVG carries no wsspec stamp"
    return match.group(1), match.group(2)


# --- 1. the committed repository is current -----------------------------------


def test_check_passes_on_committed_repo():
    result = run_codegen("--check")
    assert result.returncode == 0, result.stderr
    assert "current" in result.stdout
    assert result.stderr == ""


def test_committed_outputs_are_exactly_what_the_generator_makes():
    committed = {rel for rel in outputs_in(REPO) if "__pycache__" not in rel}
    assert committed == set(ALL_OUTPUTS)


# --- 2. determinism ----------------------------------------------------------


def test_generation_is_deterministic_and_matches_committed_files(tmp_path):
    root = copy_repo(tmp_path, outputs=False)
    out1, out2 = tmp_path / "out1", tmp_path / "out2"
    for out in (out1, out2):
        result = run_codegen("--spec", root / "spec", "--out", out)
        assert result.returncode == 0, result.stderr
    first, second = outputs_in(out1), outputs_in(out2)
    assert set(first) == set(ALL_OUTPUTS)
    assert set(second) == set(ALL_OUTPUTS)
    for rel in sorted(ALL_OUTPUTS):
        assert first[rel] == second[rel], f"{rel} differs between two runs"
        assert first[rel] == (REPO / rel).read_bytes(), f"{rel} differs from the committed file"
    # And a fresh tree passes --check.
    assert run_codegen("--check", "--spec", root / "spec", "--out", out1).returncode == 0


# --- 3. --check writes nothing -------------------------------------------------


def test_check_reports_stale_files_and_writes_nothing(tmp_path):
    root = copy_repo(tmp_path)
    edit(root / "spec" / "close_codes.yaml", GOING_AWAY_DOC, "    doc: The endpoint is leaving for good.\n")
    age_outputs(root)
    before = snapshot(root)
    spec_before = {p.name: p.read_bytes() for p in (root / "spec").iterdir()}

    result = run_codegen("--check", "--spec", root / "spec", "--out", root)

    assert result.returncode == 1, result.stderr
    assert stale_listed(result.stderr) == {"generated/close_codes.py", "docs/protocol/close_codes.rst"}
    assert "python -m codegen" in result.stderr
    assert "wrote" not in result.stdout
    assert snapshot(root) == before, "--check changed, added or touched a file"
    assert {p.name: p.read_bytes() for p in (root / "spec").iterdir()} == spec_before


def test_check_on_empty_out_folder_lists_everything_and_creates_nothing(tmp_path):
    root = copy_repo(tmp_path, outputs=False)
    out = tmp_path / "out"
    out.mkdir()
    result = run_codegen("--check", "--spec", root / "spec", "--out", out)
    assert result.returncode == 1
    assert stale_listed(result.stderr) == set(ALL_OUTPUTS)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("name", "text"), [
    ("leftover.py", "X = 1\n"),
    # setup.py stages every generated/*.pxd for Cython: one the spec does not produce must go too.
    ("leftover.pxd", "cdef enum:\n    X = 1\n"),
])
def test_check_flags_a_stray_generated_file(tmp_path, name, text):
    root = copy_repo(tmp_path)
    (root / "generated" / name).write_text(text, encoding="utf-8")
    result = run_codegen("--check", "--spec", root / "spec", "--out", root)
    assert result.returncode == 1
    assert stale_listed(result.stderr) == {f"generated/{name}"}
    assert "remove it" in result.stderr


# --- 4. a close code's doc changes one file ------------------------------------


def test_close_code_doc_change_regenerates_only_close_codes(tmp_path):
    root = copy_repo(tmp_path)
    new_doc = "The endpoint is leaving for good (server shutdown, page navigation)."
    edit(root / "spec" / "close_codes.yaml", GOING_AWAY_DOC, f"    doc: {new_doc}\n")
    age_outputs(root)
    before = snapshot(root)

    result = run_codegen("--spec", root / "spec", "--out", root)

    assert result.returncode == 0, result.stderr
    after = snapshot(root)
    assert changed_files({k: v[0] for k, v in before.items()}, {k: v[0] for k, v in after.items()}) == {
        "generated/close_codes.py", "docs/protocol/close_codes.rst"
    }
    # Files whose content did not change are not rewritten either.
    assert {rel for rel in after if after[rel][1] != before[rel][1]} == {
        "generated/close_codes.py", "docs/protocol/close_codes.rst"
    }
    assert result.stdout.split() == ["wrote", "docs/protocol/close_codes.rst", "wrote", "generated/close_codes.py"]
    assert new_doc in (root / "docs" / "protocol" / "close_codes.rst").read_text(encoding="utf-8")
    text = (root / "generated" / "close_codes.py").read_text(encoding="utf-8")
    assert f"#: {new_doc} (RFC 6455 §7.4.1)\n    GOING_AWAY = 1001" in text
    assert repr(new_doc) in text  # in REGISTERED_CLOSE_CODES
    assert "browser navigating away" not in text


# --- 5. adding a state ------------------------------------------------------------


def add_draining_state(spec_dir: Path) -> str:
    """Add state DRAINING (6), input send_drain and OPEN --send_drain--> DRAINING."""
    path = spec_dir / "connection.yaml"
    edit(
        path,
        '    rfc: "RFC 6455 §4.2.2"\n\nconnection_types:\n',
        '    rfc: "RFC 6455 §4.2.2"\n'
        "  - name: DRAINING\n"
        "    value: 6\n"
        "    doc: Queued messages drain before the Close goes out.\n"
        '    rfc: "RFC 6455 §7"\n'
        "\nconnection_types:\n",
    )
    edit(
        path,
        '    rfc: "RFC 6455 §7.1.5"\n\n',
        '    rfc: "RFC 6455 §7.1.5"\n'
        "  - name: send_drain\n"
        "    direction: send\n"
        "    events: [Drain]\n"
        "    doc: The application starts draining.\n"
        '    rfc: "RFC 6455 §7"\n\n',
    )
    return edit(
        path,
        "  - {from: OPEN, on: send_close, to: LOCAL_CLOSING}\n",
        "  - {from: OPEN, on: send_close, to: LOCAL_CLOSING}\n  - {from: OPEN, on: send_drain, to: DRAINING}\n",
    )


def test_new_state_changes_connection_module_and_diagram(tmp_path):
    root = copy_repo(tmp_path)
    add_draining_state(root / "spec")
    before = outputs_in(root)

    result = run_codegen("--spec", root / "spec", "--out", root)

    assert result.returncode == 0, result.stderr
    after = outputs_in(root)
    # handshake.py / handshake.dot name connection.yaml in their header, but
    # draw only handshake transitions, so they must not change.
    assert changed_files(before, after) == {
        "generated/connection.py",
        "diagrams/connection.dot",
        "diagrams/connection.svg",
        "docs/protocol/connection.rst",
    }
    py = (root / "generated" / "connection.py").read_text(encoding="utf-8")
    assert "    DRAINING = 6\n" in py
    assert "    SEND_DRAIN = 'send_drain'\n" in py
    assert "    'Drain': SEND_DRAIN,\n" in py
    assert "(ConnectionState.OPEN, SEND_DRAIN): ConnectionState.DRAINING," in py
    dot = (root / "diagrams" / "connection.dot").read_text(encoding="utf-8")
    assert re.search(r"^  DRAINING \[label=<<b>DRAINING</b> \(6\)", dot, re.M)
    assert re.search(r"^  OPEN -> DRAINING \[label=\"send Drain\"", dot, re.M)
    svg = (root / "diagrams" / "connection.svg").read_text(encoding="utf-8")
    assert "<title>DRAINING</title>" in svg
    assert "<title>OPEN&#45;&gt;DRAINING</title>" in svg
    assert svg_stamp(svg) == ("diagrams/connection.dot", hashlib.sha256(dot.encode()).hexdigest())
    assert run_codegen("--check", "--spec", root / "spec", "--out", root).returncode == 0

    # The regenerated modules import, from the tmp folder, as a package.
    name = "_wsspec_codegen_test_pkg"
    try:
        load_generated_package(root / "generated", name)
        connection = importlib.import_module(f"{name}.connection")
        handshake = importlib.import_module(f"{name}.handshake")
        assert Path(connection.__file__).resolve() == (root / "generated" / "connection.py").resolve()
        state = connection.ConnectionState
        assert state.DRAINING.value == 6
        assert state(6) is state.DRAINING
        assert connection.SEND_DRAIN is connection.ConnectionInput("send_drain")
        assert connection.SEND_INPUTS["Drain"] is connection.SEND_DRAIN
        assert connection.TRANSITIONS[(state.OPEN, connection.SEND_DRAIN)] is state.DRAINING
        assert handshake.ConnectionState is state
        assert [s.name for s in state][-1] == "DRAINING"
    finally:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]


# --- 5b. the permessage-deflate spec -------------------------------------------

DEFLATE_PARAM_DOC = "    doc: The server starts every message it sends with an empty LZ77 window.\n"


def test_deflate_parameter_doc_change_regenerates_only_its_module(tmp_path):
    root = copy_repo(tmp_path)
    new_doc = "The server forgets its LZ77 window after each message it sends."
    edit(root / "spec" / "permessage_deflate.yaml", DEFLATE_PARAM_DOC, f"    doc: {new_doc}\n")
    age_outputs(root)
    before = snapshot(root)

    result = run_codegen("--spec", root / "spec", "--out", root)

    assert result.returncode == 0, result.stderr
    after = snapshot(root)
    assert changed_files({k: v[0] for k, v in before.items()}, {k: v[0] for k, v in after.items()}) == {
        "generated/permessage_deflate.py", "docs/protocol/permessage_deflate.rst"
    }
    assert result.stdout.split() == ["wrote", "docs/protocol/permessage_deflate.rst",
                                     "wrote", "generated/permessage_deflate.py"]
    text = (root / "generated" / "permessage_deflate.py").read_text(encoding="utf-8")
    assert f"#: {new_doc} (RFC 7692 §7.1.1.1)\nSERVER_NO_CONTEXT_TAKEOVER = 'server_no_context_takeover'" in text


# --- 6. broken specs ---------------------------------------------------------------

# (file, old text, new text, the part of the new text on the offending line,
#  phrases the message must contain). ``{line:...}`` in a phrase is the line of
#  that text in the edited file.
BROKEN = {
    "yaml-syntax-error": (
        "connection.yaml",
        "  - {from: OPEN, on: send_ping, to: OPEN}\n",
        "  - {from: OPEN, on: send_ping, to: OPEN]\n",
        "to: OPEN]",
        ["YAML syntax error", "expected ',' or '}'"],
    ),
    "transition-to-undeclared-state": (
        "connection.yaml",
        "  - {from: OPEN, on: send_close, to: LOCAL_CLOSING}\n",
        "  - {from: OPEN, on: send_close, to: LIMBO}\n",
        "to: LIMBO}",
        ["'to' names undeclared state 'LIMBO'", "expected one of CONNECTING, OPEN", "or 'stay'"],
    ),
    "duplicate-close-code": (
        "close_codes.yaml",
        "    value: 1001\n",
        "    value: 1000\n",
        "value: 1000\n    enum: true\n    wire: true\n    doc: An endpoint is going away",
        ["duplicate close code 1000", "(first at line {line:    value: 1000\n    enum: true\n    wire: true\n    doc: Normal})",
         "expected each close code once"],
    ),
    "duplicate-mapping-key": (
        "close_codes.yaml",
        GOING_AWAY_DOC,
        GOING_AWAY_DOC + "    wire: false\n",
        "wire: false\n    rfc",
        ["duplicate key 'wire'", "(first at line {line:wire: true\n    doc: An endpoint is going away})",
         "expected each key once"],
    ),
    "send-as-a-local-only-code": (
        "close_codes.yaml",
        "    wire: false\n    send_as: 1000\n    doc: The connection was closed abnormally",
        "    wire: false\n    send_as: 1005\n    doc: The connection was closed abnormally",
        "send_as: 1005",
        ["codes[6]", "'send_as' is 1005, which may not be sent itself", "expected one of 1000, 1001"],
    ),
    "send-as-on-a-wire-code": (
        "close_codes.yaml",
        GOING_AWAY_DOC,
        GOING_AWAY_DOC + "    send_as: 1000\n",
        "send_as: 1000\n    rfc",
        ["codes[1]", "'send_as' on a code that may be sent itself", "expected it only where wire is false"],
    ),
    "send-as-an-unknown-word": (
        "close_codes.yaml",
        "    send_as: no code\n",
        "    send_as: nothing\n",
        "send_as: nothing",
        ["codes[5]", "'send_as' is 'nothing'", "expected a close code that may be sent, or 'no code'"],
    ),
    "input-opcode-undeclared": (
        "connection.yaml",
        "    opcodes: [PING]\n",
        "    opcodes: [PIGN]\n",
        "opcodes: [PIGN]",
        ["inputs[5]: opcodes names 'PIGN', not a declared opcode", "expected one of CONTINUATION, TEXT"],
    ),
    "input-opcode-twice": (
        "connection.yaml",
        "    opcodes: [PONG]\n",
        "    opcodes: [PONG, PING]\n",
        "opcodes: [PONG, PING]",
        ["inputs[6]: opcode PING already belongs to input receive_ping", "expected each opcode in one input"],
    ),
    "input-opcode-missing": (
        "connection.yaml",
        "    opcodes: [PONG]\n",
        "",
        "inputs:",
        ["opcode PONG belongs to no input", "expected every opcode of opcodes.yaml in one receive input"],
    ),
    "input-close-code-undeclared": (
        "connection.yaml",
        "    codes: [ABNORMAL_CLOSURE]\n",
        "    codes: [ABNORMAL]\n",
        "codes: [ABNORMAL]",
        ["inputs[9]: codes names 'ABNORMAL', not a declared close code", "expected one of NORMAL_CLOSURE"],
    ),
    "input-event-not-a-class-name": (
        "connection.yaml",
        "    events: [Ping]\n    doc: The application sends a Ping.\n",
        "    events: [ping]\n    doc: The application sends a Ping.\n",
        "events: [ping]",
        ["inputs[1]: events names 'ping', not an event class", "expected a class name of wsspec.events"],
    ),
    "fragmentation-row-missing": (
        "opcodes.yaml",
        "  - {message_open: true, opcodes: [CONTINUATION], fin: true, to: closed}\n",
        "",
        "fragmentation:",
        ["fragmentation: no row for CONTINUATION with message_open True and fin True",
         "expected every data opcode, message open or not, FIN set or not"],
    ),
    "fragmentation-control-opcode": (
        "opcodes.yaml",
        "  - {message_open: true, opcodes: [CONTINUATION], fin: false, to: open}\n",
        "  - {message_open: true, opcodes: [CONTINUATION, PING], fin: false, to: open}\n",
        "opcodes: [CONTINUATION, PING]",
        ["fragmentation[3]: opcodes names 'PING'", "expected one of the data opcodes CONTINUATION, TEXT, BINARY"],
    ),
    "fragmentation-fail-without-reason": (
        "opcodes.yaml",
        '  - {message_open: false, opcodes: [CONTINUATION], to: fail, reason: "unexpected CONTINUATION"}\n',
        "  - {message_open: false, opcodes: [CONTINUATION], to: fail}\n",
        "- {message_open: false, opcodes: [CONTINUATION], to: fail}",
        ["fragmentation[2]: expected 'reason' (and no 'fin') with 'to: fail'"],
    ),
    "unreachable-state": (
        "connection.yaml",
        '    rfc: "RFC 6455 §4.2.2"\n\nconnection_types:\n',
        '    rfc: "RFC 6455 §4.2.2"\n  - name: LIMBO\n    value: 6\n    doc: Nobody gets here.\n'
        '    rfc: "RFC 6455 §4"\n\nconnection_types:\n',
        "- name: LIMBO",
        ["state LIMBO is reached by no transition", "expected a transition", "'to: LIMBO'"],
    ),
    "parsed-state-missing-a-receive-row": (
        "connection.yaml",
        "  - {from: [OPEN, LOCAL_CLOSING], on: receive_pong, to: stay}\n",
        "  - {from: OPEN, on: receive_pong, to: stay}\n",
        "{state: LOCAL_CLOSING, action: parse}",
        ["receive_bytes[1]: state LOCAL_CLOSING (parse) has no transition on receive_pong",
         "expected one in 'transitions'"],
    ),
    "unknown-key": (
        "opcodes.yaml",
        "    value: 0x9\n",
        "    value: 0x9\n    colour: red\n",
        "colour: red",
        ["opcodes[4]", "unexpected key 'colour'", "expected one of name, value, kind, doc, rfc"],
    ),
    "wrong-type": (
        "opcodes.yaml",
        "    value: 0x9\n",
        '    value: "abc"\n',
        'value: "abc"',
        ["opcodes[4]", "'value' is 'abc'", "expected an integer"],
    ),
    "deflate-default-window-out-of-range": (
        "permessage_deflate.yaml",
        "  default: 15\n",
        "  default: 16\n",
        "default: 16",
        ["window_bits: default is 16", "expected 8..15"],
    ),
    "deflate-value-on-a-flag": (
        "permessage_deflate.yaml",
        "  - name: server_no_context_takeover\n    sender: SERVER\n    kind: no_context_takeover\n    offer: none\n",
        "  - name: server_no_context_takeover\n    sender: SERVER\n    kind: no_context_takeover\n    offer: required\n",
        "offer: required\n    response: none\n    response_needs_offer: false\n    doc: The server starts",
        ["parameters[0]", "offer is 'required' for a no_context_takeover parameter", "expected none"],
    ),
    "deflate-two-window-parameters-for-one-side": (
        "permessage_deflate.yaml",
        "  - name: client_max_window_bits\n    sender: CLIENT\n",
        "  - name: client_max_window_bits\n    sender: SERVER\n",
        "- name: client_max_window_bits",
        ["parameters[3]", "a second max_window_bits parameter for SERVER",
         "(first at line {line:- name: server_max_window_bits})", "expected one per sender and kind"],
    ),
    "deflate-name-not-a-token": (
        "permessage_deflate.yaml",
        "name: permessage-deflate\n",
        "name: permessage deflate\n",
        "name: permessage deflate",
        ["'name' is 'permessage deflate'", "expected a token"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_spec_is_refused_with_file_and_line(tmp_path, case):
    filename, old, new, on_line, phrases = BROKEN[case]
    root = copy_repo(tmp_path)
    text = edit(root / "spec" / filename, old, new)
    expected_line = line_of(text, on_line)
    phrases = [
        re.sub(r"\{line:(.*?)\}", lambda m: str(line_of(text, m.group(1))), phrase, flags=re.S)
        for phrase in phrases
    ]
    age_outputs(root)
    before = snapshot(root)

    result = run_codegen("--spec", root / "spec", "--out", root)
    fresh = tmp_path / "fresh-out"
    result_fresh = run_codegen("--spec", root / "spec", "--out", fresh)

    for r in (result, result_fresh):
        assert r.returncode == 2, r.stderr
        assert r.stdout == ""
        error_lines = [line for line in r.stderr.splitlines() if f"spec/{filename}:" in line]
        assert len(error_lines) == 1, r.stderr
        assert f"spec/{filename}:{expected_line}:" in error_lines[0], r.stderr
        for phrase in phrases:
            assert phrase in error_lines[0], f"{phrase!r} missing from {error_lines[0]!r}"
        assert "nothing was generated" in r.stderr
    assert snapshot(root) == before, "a broken spec changed files"
    assert not fresh.exists(), "a broken spec created the out folder"
    # --check refuses the same way.
    check = run_codegen("--check", "--spec", root / "spec", "--out", root)
    assert check.returncode == 2
    assert f"spec/{filename}:{expected_line}:" in check.stderr


# --- 7. the generated package needs neither Jinja2 nor PyYAML -------------------


def test_generated_modules_import_without_jinja2_or_yaml(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        for blocked in ("jinja2", "yaml", "_yaml", "graphviz", "codegen"):
            sys.modules[blocked] = None
        import importlib
        from pathlib import Path
        mods = {{}}
        for name in ("connection", "handshake", "opcodes", "close_codes", "framing", "permessage_deflate"):
            mods[name] = importlib.import_module("wsspec._generated." + name)
            assert Path(mods[name].__file__).resolve() == Path({str(REPO / "generated")!r}, name + ".py"), \\
                mods[name].__file__
        assert mods["opcodes"].Opcode.PING == 9
        assert mods["opcodes"].Opcode.PING.iscontrol()
        assert mods["close_codes"].CloseReason.NORMAL_CLOSURE == 1000
        assert mods["close_codes"].may_appear_on_wire(1000)
        assert not mods["close_codes"].may_appear_on_wire(1005)
        assert mods["connection"].ConnectionState.OPEN.value == 1
        assert mods["handshake"].ConnectionState is mods["connection"].ConnectionState
        assert mods["handshake"].SWITCHING_PROTOCOLS == 101
        assert mods["framing"].MAX_FRAME_PAYLOAD == 2**63 - 1
        assert mods["permessage_deflate"].DEFLATE_TAIL == b"\\x00\\x00\\xff\\xff"
        assert mods["permessage_deflate"].ConnectionType is mods["connection"].ConnectionType
        for blocked in ("jinja2", "yaml", "_yaml"):
            assert sys.modules[blocked] is None
        print("ok")
        """
    )
    result = subprocess.run(
        [PYTHON, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --- 8. do-not-edit headers ---------------------------------------------------------


@pytest.mark.parametrize("rel", sorted(OUTPUT_SOURCES))
def test_generated_file_starts_with_do_not_edit_header(rel):
    text = (REPO / rel).read_text(encoding="utf-8")
    comment = {".py": "#", ".pxd": "#", ".rst": ".."}.get(Path(rel).suffix, "//")
    sources = OUTPUT_SOURCES[rel]
    lines = text.splitlines()
    assert lines[0] == f"{comment} GENERATED FILE - DO NOT EDIT."
    assert lines[1] == f"{comment} Generated by `python -m codegen` from {', '.join(sources)}."
    for source in sources:
        assert (REPO / source).is_file()


@pytest.mark.parametrize("rel", sorted(SVG_SOURCES))
def test_svg_names_the_dot_it_was_rendered_from(rel):
    svg = (REPO / rel).read_text(encoding="utf-8")
    dot = (REPO / SVG_SOURCES[rel]).read_text(encoding="utf-8")
    assert svg.startswith("<?xml")
    prologue = svg[: svg.index("<svg")]
    assert svg_stamp(prologue) == (SVG_SOURCES[rel], hashlib.sha256(dot.encode()).hexdigest())


# At commit 246f813 render_svg() stamped SVGs only with "rendered from
# diagrams/X.dot sha256=...": no do-not-edit line and no spec file named.
@pytest.mark.parametrize("rel", sorted(SVG_SOURCES))
def test_svg_carries_do_not_edit_header_naming_spec_files(rel):
    svg = (REPO / rel).read_text(encoding="utf-8")
    prologue = svg[: svg.index("<svg")]
    assert "GENERATED FILE - DO NOT EDIT" in prologue
    for source in OUTPUT_SOURCES[SVG_SOURCES[rel]]:
        assert source in prologue


# --- 9. SVG staleness --------------------------------------------------------------


def test_svg_goes_stale_when_its_dot_changes(tmp_path):
    new_doc = "Handshake done and frames flow in both directions now"
    root = copy_repo(tmp_path)
    edit(root / "spec" / "connection.yaml", OPEN_DOC, f"    doc: {new_doc}.\n")
    age_outputs(root)
    before = snapshot(root)

    # --check needs no Graphviz: it compares the SVG's stamp, it renders nothing.
    check = run_codegen("--check", "--spec", root / "spec", "--out", root, env=without_dot(tmp_path))
    assert check.returncode == 1, check.stderr
    assert stale_listed(check.stderr) == {
        "generated/connection.py",
        "diagrams/connection.dot",
        "diagrams/connection.svg",
        "docs/protocol/connection.rst",
    }
    assert snapshot(root) == before

    # An up-to-date .dot next to an SVG rendered from the old one: only the SVG is stale.
    other = tmp_path / "other"
    assert run_codegen("--spec", root / "spec", "--out", other).returncode == 0
    for rel in ("generated/connection.py", "diagrams/connection.dot", "docs/protocol/connection.rst"):
        shutil.copyfile(other / rel, root / rel)
    check = run_codegen("--check", "--spec", root / "spec", "--out", root)
    assert check.returncode == 1
    assert stale_listed(check.stderr) == {"diagrams/connection.svg"}

    # Regenerating re-renders exactly that SVG, which then shows the new doc.
    result = run_codegen("--spec", root / "spec", "--out", root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wrote", "diagrams/connection.svg"]
    svg = (root / "diagrams" / "connection.svg").read_text(encoding="utf-8")
    dot = (root / "diagrams" / "connection.dot").read_text(encoding="utf-8")
    assert new_doc in svg
    assert "data and control frames flow both ways" not in svg
    assert svg_stamp(svg)[1] == hashlib.sha256(dot.encode()).hexdigest()
    assert (root / "diagrams" / "connection.svg").read_bytes() == (other / "diagrams" / "connection.svg").read_bytes()
    assert run_codegen("--check", "--spec", root / "spec", "--out", root).returncode == 0


# --- 10. Graphviz missing ------------------------------------------------------------


def test_missing_graphviz_exits_3_with_install_hint(tmp_path):
    root = copy_repo(tmp_path)
    edit(root / "spec" / "connection.yaml", OPEN_DOC, "    doc: Handshake done and frames flow.\n")
    old_svg = (root / "diagrams" / "connection.svg").read_bytes()

    result = run_codegen("--spec", root / "spec", "--out", root, env=without_dot(tmp_path))

    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "Graphviz" in result.stderr
    assert "`dot`" in result.stderr
    assert "apt-get install graphviz" in result.stderr
    assert "wrote diagrams/connection.svg" not in result.stdout
    assert (root / "diagrams" / "connection.svg").read_bytes() == old_svg
    # The unrendered SVG cannot slip through: --check still reports it.
    check = run_codegen("--check", "--spec", root / "spec", "--out", root)
    assert check.returncode == 1
    assert "diagrams/connection.svg" in stale_listed(check.stderr)


def test_missing_graphviz_is_fine_when_no_diagram_changes(tmp_path):
    root = copy_repo(tmp_path)
    edit(root / "spec" / "close_codes.yaml", GOING_AWAY_DOC, "    doc: The endpoint is leaving for good.\n")
    before = outputs_in(root)
    result = run_codegen("--spec", root / "spec", "--out", root, env=without_dot(tmp_path))
    assert result.returncode == 0, result.stderr
    assert changed_files(before, outputs_in(root)) == {"generated/close_codes.py", "docs/protocol/close_codes.rst"}


# --- 9. C declarations for the compiled build (issue 13) ---------------------------

# `    NAME = LITERAL  # module.python.name` in generated/constants.pxd.
_C_CONSTANT = re.compile(r"^    ([A-Z][A-Z0-9_]*) = (0x[0-9A-F]+|[0-9]+)  # ([a-z_]+(?:\.[A-Za-z_][A-Za-z0-9_]*)+)$")
_C_OMITTED = re.compile(r"^    # ([A-Z][A-Z0-9_]*) \(([a-z_.A-Z0-9]+) = ([0-9]+)\) is wider than a C int: not declared\.$")


def c_constants(text: str) -> tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]]:
    """generated/constants.pxd's enum values and its omitted ones: C name -> (value, Python name)."""
    declared, omitted = {}, {}
    for line in text.splitlines():
        if match := _C_CONSTANT.match(line):
            declared[match.group(1)] = (int(match.group(2), 0), match.group(3))
        elif match := _C_OMITTED.match(line):
            omitted[match.group(1)] = (int(match.group(3)), match.group(2))
        else:
            assert not line.startswith("    ") or line.startswith("    #"), f"unexpected line {line!r}"
    return declared, omitted


def python_constant(dotted: str) -> object:
    module, *attributes = dotted.split(".")
    value: object = importlib.import_module(f"wsspec._generated.{module}")
    for attribute in attributes:
        value = getattr(value, attribute)
    return value


def test_c_constants_equal_the_generated_python_constants():
    declared, omitted = c_constants((REPO / "generated" / "constants.pxd").read_text(encoding="utf-8"))
    assert len(set(declared) | set(omitted)) == len(declared) + len(omitted)
    for c_name, (value, python_name) in {**declared, **omitted}.items():
        assert python_constant(python_name) == value, f"{c_name} = {value} but {python_name} = {python_constant(python_name)!r}"
    for c_name, (value, _) in declared.items():
        assert -(2**31) <= value < 2**31, f"{c_name}: a cdef enum value is a C int"
    for c_name, (value, _) in omitted.items():
        assert value >= 2**31, f"{c_name} fits a C int: it should be declared"


def test_c_constants_cover_the_integer_constants_of_framing_opcodes_and_close_codes():
    """Every int the runtime may use from these three modules has its C twin (or is listed as too wide)."""
    from wsspec._generated import close_codes, framing, opcodes

    declared, omitted = c_constants((REPO / "generated" / "constants.pxd").read_text(encoding="utf-8"))
    named = {python_name for _, python_name in (*declared.values(), *omitted.values())}
    expected = {f"opcodes.Opcode.{m.name}" for m in opcodes.Opcode}
    expected |= {f"close_codes.CloseReason.{m.name}" for m in close_codes.CloseReason}
    for module in (framing, opcodes, close_codes):
        short = module.__name__.rpartition(".")[2]
        expected |= {f"{short}.{name}" for name, value in vars(module).items()
                     if name.isupper() and type(value) is int and name != "MAX_FRAME_PAYLOAD"}  # an alias
    assert named == expected
    assert declared["OPCODE_TEXT"] == (1, "opcodes.Opcode.TEXT")
    assert declared["FIN_MASK"] == (0x80, "framing.FIN_MASK")
    assert "MAX_PAYLOAD_EIGHT_BYTE" in omitted


def test_a_spec_value_reaches_the_c_declarations(tmp_path):
    """The C constants are rendered from spec/, never kept by hand: a spec edit changes both languages."""
    root = copy_repo(tmp_path)
    edit(root / "spec" / "framing.yaml", "    value: 16777216\n", "    value: 1048576\n")
    result = run_codegen("--spec", root / "spec", "--out", root)
    assert result.returncode == 0, result.stderr
    assert {"generated/framing.py", "generated/constants.pxd"} <= set(result.stdout.split()[1::2])
    declared, _ = c_constants((root / "generated" / "constants.pxd").read_text(encoding="utf-8"))
    assert declared["DEFAULT_MAX_MESSAGE_SIZE"] == (1048576, "framing.DEFAULT_MAX_MESSAGE_SIZE")
    assert "DEFAULT_MAX_MESSAGE_SIZE = 1048576\n" in (root / "generated" / "framing.py").read_text(encoding="utf-8")


def test_check_notices_a_hand_edit_of_the_c_declarations(tmp_path):
    root = copy_repo(tmp_path)
    path = root / "generated" / "constants.pxd"
    edit(path, "    MAX_PAYLOAD_NORMAL = 125  #", "    MAX_PAYLOAD_NORMAL = 126  #")
    result = run_codegen("--check", "--spec", root / "spec", "--out", root)
    assert result.returncode == 1
    assert stale_listed(result.stderr) == {"generated/constants.pxd"}
    assert run_codegen("--spec", root / "spec", "--out", root).returncode == 0
    assert path.read_bytes() == (REPO / "generated" / "constants.pxd").read_bytes()


# --- regressions ------------------------------------------------------------------


# At commit 246f813 the templates put `doc` into one-line `#:` comments as is,
# so a YAML block scalar (`doc: >` / `doc: |`, which keep a final newline)
# made codegen exit 0 and write a close_codes.py that was not valid Python.
def test_multiline_doc_is_rendered_as_valid_python_or_refused(tmp_path):
    root = copy_repo(tmp_path, outputs=False)
    edit(
        root / "spec" / "close_codes.yaml",
        GOING_AWAY_DOC,
        "    doc: >\n      An endpoint is going away, such as a server going down\n"
        "      or a browser navigating away from a page.\n",
    )
    out = tmp_path / "out"
    result = run_codegen("--spec", root / "spec", "--out", out)
    if result.returncode == 2:  # refusing it (file:line) is an acceptable answer
        assert "spec/close_codes.yaml:" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    for path in sorted((out / "generated").glob("*.py")):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    spec = importlib.util.spec_from_file_location("_wsspec_multiline_close_codes", out / "generated" / "close_codes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.CloseReason.GOING_AWAY == 1001
    name, doc, _ = module.REGISTERED_CLOSE_CODES[1001]
    assert name == "GOING_AWAY"
    assert " ".join(doc.split()) == (
        "An endpoint is going away, such as a server going down or a browser navigating away from a page."
    )
