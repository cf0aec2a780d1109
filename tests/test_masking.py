"""wsspec.masking: the pure-Python, wsspec's compiled and websockets' compiled
masking routines agree, the backend selection honours WSSPEC_NO_EXTENSIONS and
WSSPEC_NO_SPEEDUPS, and masking keys are fresh.

The pure-Python routine is tested directly (``mask_python``), whatever is
installed, and through the whole library in a subprocess with the compiled
build and the speedups disabled, so CI exercises it on every build.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

import wsspec
from wsspec import masking
from wsspec.masking import mask_python

COMPILED = wsspec.BUILD == "compiled"

try:
    from websockets.speedups import apply_mask as compiled_mask
except ImportError:  # pragma: no cover - depends on the environment
    compiled_mask = None


def reference_mask(data: bytes, key: bytes) -> bytes:
    """RFC 6455 §5.3, byte by byte: transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4)."""
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


# Around the pure routine's int/translate threshold, multiples of 4 +- 1,
# the extended-length boundaries, and large payloads up to 1 MiB.
SIZES = sorted(
    set(range(0, 70))
    | {masking._MASK_INT_THRESHOLD + d for d in range(-5, 6)}
    | {125, 126, 127, 1000, 4095, 4096, 4097, 65535, 65536, 65537, 100_003, (1 << 20) - 1, 1 << 20}
)
KEYS = [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x01\x02\x03\x04", b"\x80\x00\x7f\xff"]


def _payload(n: int) -> bytes:
    return random.Random(n).randbytes(n)


@pytest.mark.parametrize("n", SIZES)
def test_pure_python_matches_reference(n: int) -> None:
    data = _payload(n)
    for key in KEYS + [random.Random(-n).randbytes(4)]:
        out = mask_python(data, key)
        assert type(out) is bytes
        if n <= 70_000:  # the byte-by-byte reference is slow
            assert out == reference_mask(data, key), (n, key)
        assert mask_python(out, key) == data


@pytest.mark.skipif(compiled_mask is None, reason="websockets.speedups is not installed")
@pytest.mark.parametrize("n", SIZES)
def test_compiled_matches_pure_python(n: int) -> None:
    data = _payload(n)
    for key in KEYS + [random.Random(-n).randbytes(4)]:
        assert compiled_mask(data, key) == mask_python(data, key), (n, key)


@pytest.mark.parametrize("n", [0, 1, 5, 17, 700, 800, 4097, 70_001])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 5])
def test_bytes_like_inputs_and_offsets(n: int, offset: int) -> None:
    """bytes, bytearray and (offset) memoryview slices give the same bytes, with every backend."""
    key = b"\x12\x34\x56\x78"
    whole = _payload(n + offset + 3)
    data = whole[offset : offset + n]
    expected = mask_python(data, key)
    routines = [mask_python, masking.mask] + ([compiled_mask] if compiled_mask else [])
    routines += [masking.mask_compiled] if COMPILED else []
    for routine in routines:
        for variant in (data, bytearray(data), memoryview(whole)[offset : offset + n],
                        memoryview(bytearray(whole))[offset : offset + n]):
            assert bytes(routine(variant, key)) == expected, (routine, type(variant))
    for variant in (data, bytearray(data), memoryview(whole)[offset : offset + n]):
        header = bytes((0x82, 0x80 | min(n, 125)))
        frame = masking.masked_frame(header, key, variant)
        assert type(frame) is bytes and frame == header + key + expected
    buffer = bytearray(whole)
    assert masking.mask_slice(buffer, offset, offset + n, key) == expected
    assert buffer == whole and data == whole[offset : offset + n]  # inputs are not modified


@pytest.mark.parametrize("n", SIZES)
def test_frame_and_slice_helpers_match_mask(n: int) -> None:
    """masked_frame() and mask_slice() (the send and receive paths) give mask()'s bytes at every size."""
    data = _payload(n)
    key = random.Random(-n).randbytes(4)
    expected = mask_python(data, key)
    assert masking.masked_frame(b"\x82\xff", key, data) == b"\x82\xff" + key + expected
    assert masking.mask_slice(bytearray(b"xy" + data + b"z"), 2, 2 + n, key) == expected


@pytest.mark.parametrize("n", SIZES)
def test_unmask_payload_reads_the_key_before_the_payload(n: int) -> None:
    """unmask_payload() (the receive fast path) unmasks with the 4 bytes before ``start``, at any offset."""
    data = _payload(n)
    key = random.Random(-n).randbytes(4)
    for lead in (b"", b"x", b"xyz", b"\x81\x85abcd"):
        buffer = bytearray(lead + key + mask_python(data, key) + b"tail")
        whole = bytes(buffer)
        start = len(lead) + 4
        assert masking.unmask_payload(buffer, start, start + n) == data
        assert buffer == whole  # the receive buffer is not modified


@pytest.mark.parametrize("n", [*range(0, 10), 61, 62, 63, 64, 65, 124, 125])
@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_short_frame_is_header_key_and_masked_payload(n: int, kind: type) -> None:
    """short_frame() (the send path of frames up to 125 bytes): the two header bytes, then the
    key and the masked payload, or the payload as it is without a key."""
    data = _payload(n)
    key = random.Random(n).randbytes(4)
    payload = kind(data)
    assert masking.short_frame(0x81, 0x80 | n, key, payload) == bytes((0x81, 0x80 | n)) + key + reference_mask(data, key)
    assert masking.short_frame(0x02, n, None, payload) == bytes((0x02, n)) + data
    assert bytes(payload) == data  # not modified


@pytest.mark.skipif(not COMPILED, reason="the pure-Python build is running")
@pytest.mark.parametrize("n", SIZES)
def test_wsspec_compiled_matches_pure_python(n: int) -> None:
    data = _payload(n)
    for key in KEYS + [random.Random(-n).randbytes(4)]:
        out = masking.mask_compiled(data, key)
        assert type(out) is bytes and out == mask_python(data, key), (n, key)


def test_compiled_kernel_refuses_a_wrong_key_and_runs_only_compiled() -> None:
    if COMPILED:
        with pytest.raises(ValueError, match="4 bytes, got 3"):
            masking.mask_compiled(b"abcd", b"xyz")
    else:
        with pytest.raises(RuntimeError, match="compiled build"):
            masking.mask_compiled(b"abcd", b"wxyz")


def test_the_library_uses_the_selected_backend() -> None:
    if COMPILED:
        assert masking.BACKEND == "wsspec.compiled"
        assert masking.mask is masking.mask_compiled
    elif masking.BACKEND == "python":
        assert masking.mask is mask_python
    else:
        assert masking.BACKEND == "websockets.speedups"
        assert masking.mask is compiled_mask


def test_default_backend() -> None:
    """The compiled build masks with its own code; the pure build borrows websockets' if installed."""
    if COMPILED:
        assert masking.BACKEND == "wsspec.compiled"
        return
    if os.environ.get("WSSPEC_NO_SPEEDUPS", "") not in ("", "0"):
        pytest.skip("WSSPEC_NO_SPEEDUPS is set for this run")
    expected = "python" if compiled_mask is None else "websockets.speedups"
    assert masking.BACKEND == expected


_ROUND_TRIP = """
import random, sys
import wsspec
from wsspec import masking
from wsspec.frame_protocol import FrameProtocol, Opcode
print(wsspec.BUILD, masking.BACKEND, masking.mask.__module__, masking.mask.__name__)
assert masking.mask is masking.mask_python
client, server = FrameProtocol(True, []), FrameProtocol(False, [])
for n in (0, 1, 16, 125, 126, 767, 768, 769, 65536, 1 << 20):
    payload = random.Random(n).randbytes(n)
    server.receive_bytes(client.send_data(payload))
    frames = list(server.received_frames())
    assert b"".join(f.payload for f in frames) == payload, n
    assert frames[-1].message_finished, n
print("ok")
"""


@pytest.mark.parametrize("value", ["1", "yes"])
def test_env_var_forces_pure_python(value: str) -> None:
    """With WSSPEC_NO_EXTENSIONS and WSSPEC_NO_SPEEDUPS set, the whole library masks in pure
    Python (fresh interpreter)."""
    env = dict(os.environ, WSSPEC_NO_SPEEDUPS=value, WSSPEC_NO_EXTENSIONS=value)
    proc = subprocess.run([sys.executable, "-c", _ROUND_TRIP], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == ["pure", "python", "wsspec.masking", "mask_python", "ok"]


@pytest.mark.parametrize("value", ["", "0"])
def test_env_var_empty_or_zero_keeps_the_default(value: str) -> None:
    env = dict(os.environ, WSSPEC_NO_SPEEDUPS=value, WSSPEC_NO_EXTENSIONS="1")
    code = "from wsspec import masking; print(masking.BACKEND)"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("python" if compiled_mask is None else "websockets.speedups")


def test_masking_keys_are_fresh_and_from_urandom(monkeypatch) -> None:
    keys = [masking.new_masking_key() for _ in range(3000)]  # crosses pool refills
    assert all(type(key) is bytes and len(key) == 4 for key in keys)
    assert len(set(keys)) > 2990  # 4-byte random keys: collisions are rare
    calls = []
    real = os.urandom

    def counting(n: int) -> bytes:
        calls.append(n)
        return real(n)

    monkeypatch.setattr(os, "urandom", counting)
    monkeypatch.setattr(masking, "_keys", iter(()))
    masking.new_masking_key()
    assert calls == [masking._POOL_BYTES]


def test_child_process_does_not_reuse_the_parents_keys() -> None:
    if not hasattr(os, "fork"):
        pytest.skip("no fork() here")
    masking.new_masking_key()  # the pool holds unused keys now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.write(write, b"".join(masking.new_masking_key() for _ in range(8)))
        finally:
            os._exit(0)
    os.close(write)
    child = b""
    while len(child) < 32:
        chunk = os.read(read, 32)
        if not chunk:
            break
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    parent = b"".join(masking.new_masking_key() for _ in range(8))
    assert len(child) == 32
    assert child != parent


def test_masking_accepts_a_bytearray_key() -> None:
    data = _payload(1000)
    for n in (0, 3, 16, 125, 1000):
        expected = mask_python(data[:n], b"\x0a\x0b\x0c\x0d")
        assert bytes(masking.mask(data[:n], bytearray(b"\x0a\x0b\x0c\x0d"))) == expected
        assert mask_python(data[:n], bytearray(b"\x0a\x0b\x0c\x0d")) == expected
