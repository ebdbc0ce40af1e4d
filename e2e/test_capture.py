"""sentry_capture.py (what sentry_pyframes runs in the worker) on its own, in this
Python: what it writes of a local must not depend on which of its paths wrote it."""
import enum
import importlib.util
import os
import random
import struct

from support import ROOT


def capture_module():
    spec = importlib.util.spec_from_file_location("sentry_capture", os.path.join(ROOT, "plugin", "sentry_pyframes", "sentry_capture.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_numbers_take_a_short_path_to_the_same_text():
    """ints, floats, bools and None skip the general path (a repr with its checks,
    then quoting): the same text for each, cut at the same length, the same broken
    repr for an int past Python's digit limit; a subclass takes the general path."""
    cap = capture_module()
    rng = random.Random(25)
    floats = [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0] for _ in range(2000)]
    ints = [rng.getrandbits(rng.randint(1, 200)) * rng.choice((1, -1)) for _ in range(2000)]
    Colour = enum.IntEnum("Colour", "RED GREEN")
    values = floats + ints + [0, -0.0, float("inf"), float("-inf"), float("nan"), 5e-324, True, False, None,
                              10 ** 2000, 10 ** 5000, Colour.RED]
    for v in values:
        assert cap._json(v, cap.DEPTH) == cap._quote(cap._repr(v)), repr(v)[:80]
    assert len(cap._json(10 ** 2000, cap.DEPTH)) == cap.MAX_REPR + 2
