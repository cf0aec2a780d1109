"""Smoke test of ``python -m tests.bench.deflate_settings`` (issue 12, item 1) in its quick form,
plus a direct round-trip check of every backend and setting it measures. It checks the tables'
shape and that bytes round-trip; speed is never asserted (a CI machine is too noisy for that)."""

from __future__ import annotations

import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.bench import deflate_settings as ds

from tests.test_bench_modes_smoke import _tables

REPO = Path(__file__).resolve().parents[1]
NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"
US = re.compile(rf"^{NUMBER}(?: \({NUMBER}–{NUMBER}\))?$")
SIZE = re.compile(rf"^{NUMBER} (?:B|KiB)$")
RATIO = re.compile(r"^[01]\.[0-9]{3}$")


def test_the_optional_backends_install_with_the_dev_extra() -> None:
    backends, missing = ds.available_backends()
    assert [b.name for b in backends] == ["zlib", "zlib-ng", "isal"], missing


@pytest.mark.parametrize("name", list(ds.BACKEND_SPECS))
def test_every_backend_and_setting_round_trips_through_its_own_and_the_standard_zlib(name: str) -> None:
    backend = ds.load_backend(name)
    assert backend is not None
    messages = ds.json_text(1024, 4) + ds.english_text(16 * 1024, 2) + ds.binary_mix(96 * 1024, 1)
    for window in ds.WINDOWS:
        for mem in ds.MEM_LEVELS:
            for takeover in ds.TAKEOVER:
                payloads = ds.check_round_trip(backend, backend.default_level, window, mem, takeover, messages)
                # Independently of the helper: a standard-zlib peer inflates them.
                assert len(payloads) == len(messages)
                peer = zlib.decompressobj(-window)
                for payload, message in zip(payloads, messages):
                    if not takeover:
                        peer = zlib.decompressobj(-window)
                    assert peer.decompress(payload + ds.TAIL) == message
                if takeover:
                    # Context takeover must pay off on repeated JSON (otherwise the stream is not shared).
                    fresh = ds.encode_stream(backend.module, backend.default_level, window, mem, False, messages[:4])
                    assert sum(map(len, payloads[:4])) < sum(map(len, fresh))


def test_a_corrupted_payload_fails_the_round_trip_check() -> None:
    """The check can fail: a backend whose output a zlib peer cannot inflate is caught."""
    class Broken:
        __name__ = "broken"

        def __getattr__(self, attr: str) -> object:
            return getattr(zlib, attr)

        @staticmethod
        def compressobj(*args: object) -> object:
            real = zlib.compressobj(*args)  # type: ignore[call-overload]

            class Flipping:
                def compress(self, data: bytes) -> bytes:
                    return real.compress(data)

                def flush(self, mode: int) -> bytes:
                    out = bytearray(real.flush(mode))
                    out[0] ^= 0xFF
                    return bytes(out)
            return Flipping()

    backend = ds.Backend("broken", Broken(), "broken", -1, (6,))
    with pytest.raises((AssertionError, zlib.error)):
        ds.check_round_trip(backend, -1, 15, 8, True, ds.json_text(1024, 2))


def test_message_generators_make_the_sizes_they_promise() -> None:
    for size in ds.THRESHOLD_SIZES:
        msgs = ds.json_text(size, 8)
        assert [len(m) for m in msgs] == [size] * 8 and len(set(msgs)) == 8
    text = ds.english_text(16 * 1024, 16)
    assert len(text) >= 8 and {len(t) for t in text} == {16 * 1024} and len(set(text)) == len(text)
    binary = ds.binary_mix(64 * 1024, 2)
    assert [len(b) for b in binary] == [64 * 1024] * 2 and binary[0] != binary[1]
    # a mix: neither incompressible nor trivially compressible
    ratio = len(zlib.compress(binary[0])) / len(binary[0])
    assert 0.3 < ratio < 0.9, ratio


def test_quick_run_prints_every_table_and_a_recommendation() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.deflate_settings", "--quick"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    tables = _tables(out)
    assert len(tables) == 6, [len(t) for t in tables]  # 3 message types, memory, levels, threshold
    settings, memory, levels, threshold = tables[:3], tables[3], tables[4], tables[5]
    expected = {(b, str(w), str(m), t) for b in ("zlib", "zlib-ng", "isal") for w in ds.WINDOWS
                for m in ds.MEM_LEVELS for t in ("on", "off")}
    for rows in settings:
        assert {(r["backend"], r["window bits"], r["memLevel"], r["context takeover"]) for r in rows} == expected
        assert len(rows) == len(expected)
        for r in rows:
            assert US.match(r["compress µs"]) and US.match(r["inflate µs"]), r
            assert SIZE.match(r["wire"]) and RATIO.match(r["ratio"]), r
    assert len(memory) == 3 * len(ds.WINDOWS) * len(ds.MEM_LEVELS)
    for r in memory:
        assert SIZE.match(r["pair, window full"]), r
        assert "=" in r["zlib's formula (deflate + inflate)"], r
    assert [(r["backend"], r["level"]) for r in levels] == [
        ("zlib", "1"), ("zlib", "6"), ("zlib", "9"), ("zlib-ng", "1"), ("zlib-ng", "6"), ("zlib-ng", "9"),
        ("isal", "0"), ("isal", "1"), ("isal", "2"), ("isal", "3")]
    assert [(r["size"], r["context takeover"]) for r in threshold] == [
        (size, t) for size in ("16 B", "64 B", "128 B", "256 B", "512 B", "1,024 B", "2,048 B") for t in ("on", "off")]
    # websockets' server defaults, quoted from its installed source
    assert "`enable_server_permessage_deflate`" in out and "server_max_window_bits=12," in out
    assert 'compress_settings={"memLevel": 5},' in out
    assert "## Recommendation" in out
    # A quick run on a loaded machine may leave no setting within rule 1's bounds; the
    # script then says so rather than recommend from noise.
    assert re.search(r"\*\*window and memLevel: server_max_window_bits=1[0-5], memLevel=[58]\*\*", out) or (
        "- window and memLevel: no setting met rule 1 on this run (noise?): keep 15/8." in out)
    assert re.search(r"\*\*context takeover: (on|off)", out)
    assert "compression threshold:" in out
    assert "levels 0-3 only" in out
    assert re.search(r"correctness: all checks passed \(132 configurations", out)
