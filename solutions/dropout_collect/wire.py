"""The only language between a student's kernel and the trusted checker: plain data.

A collector (in the kernel) turns what a student's function returned into JSON-able data with
:func:`encode`; the checker (outside the sandbox) turns it back with :func:`decode`. Arrays
travel as dtype, shape and compressed bytes; exceptions as their class name and message;
any other object only as its type's name. Nothing is ever unpickled or imported on the trusted
side, so forged data can at most claim an answer, never run code, and decoding is strict:
unknown tags, odd dtypes, sizes that do not add up and oversized payloads are refused.
"""
from __future__ import annotations

import base64
import math
import zlib

import numpy as np

MIME = "application/vnd.dropout-course.collected+json"
VERSION = 1
MAX_ARRAY_BYTES = 64 * 2**20    # inflated bytes of one array
MAX_TOTAL_BYTES = 128 * 2**20   # inflated bytes of all arrays in one payload (no hidden test needs 20)
MAX_ITEMS = 100_000              # containers' total entries in one payload
MAX_STRING = 2_000               # characters kept of any string (messages, type names)
ALLOWED_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                  "float16", "float32", "float64"}


class WireError(ValueError):
    """The data handed back by a kernel is not well formed (so it earns nothing)."""


# ----------------------------------------------------------------------------- encoding (kernel side)

def _as_numpy(value):
    """A NumPy view of arrays and tensors, without importing torch when it is not loaded."""
    if isinstance(value, np.ndarray | np.generic):
        return np.asarray(value)
    module = type(value).__module__
    if module.startswith("torch") and type(value).__name__ in ("Tensor", "Parameter"):
        return value.detach().cpu().numpy()
    return None


def encode(value, _depth: int = 0):
    """JSON-able data for ``value``; objects of other types become ``{"__object__": type name}``."""
    if _depth > 20:
        return {"__object__": "nested too deeply"}
    if value is None or isinstance(value, bool | str):
        return value[:MAX_STRING] if isinstance(value, str) else value
    if isinstance(value, int) and not isinstance(value, bool):
        return {"__int__": str(value)} if abs(value) > 2**53 else value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    array = _as_numpy(value)
    if array is not None:
        if array.dtype.name not in ALLOWED_DTYPES:
            return {"__object__": f"array of dtype {array.dtype.name}"}
        raw = np.ascontiguousarray(array).tobytes()
        return {"__array__": {"dtype": array.dtype.name, "shape": list(array.shape),
                              "tensor": not isinstance(value, np.ndarray | np.generic),
                              "data": base64.b64encode(zlib.compress(raw, 1)).decode("ascii")}}
    if isinstance(value, BaseException):
        return {"__error__": {"type": type(value).__name__[:200], "message": str(value)[:MAX_STRING]}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, _depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, _depth + 1), encode(v, _depth + 1)] for k, v in value.items()]}
    return {"__object__": type(value).__name__[:200]}


# ----------------------------------------------------------------------------- decoding (trusted side)

class Object(str):
    """Stands for a value the kernel could not send as data (its type's name)."""


class Error:
    """An exception raised by the student's code: its class name and message, nothing more."""

    def __init__(self, type_name: str, message: str):
        self.type, self.message = type_name, message

    def __repr__(self) -> str:
        return f"{self.type}: {self.message}"


class Tensor(np.ndarray):
    """A NumPy array that was a torch tensor in the kernel."""


def decode(data):
    """Plain Python and NumPy values from :func:`encode`'s output; raises :class:`WireError`."""
    budget = [MAX_ITEMS, MAX_TOTAL_BYTES]
    return _decode(data, budget, 0)


def _spend(budget, n: int = 1) -> None:
    budget[0] -= n
    if budget[0] < 0:
        raise WireError("too many values in the collected data")


def _text(value) -> str:
    if not isinstance(value, str):
        raise WireError("expected a string")
    return value[:MAX_STRING]


def _decode(data, budget, depth):
    if depth > 24:
        raise WireError("collected data nested too deeply")
    _spend(budget)
    if data is None or isinstance(data, bool):
        return data
    if isinstance(data, int | float):
        if isinstance(data, float) and not math.isfinite(data):
            raise WireError("bare non-finite number")
        return data
    if isinstance(data, str):
        return data[:MAX_STRING]
    if isinstance(data, list):
        _spend(budget, len(data))
        return [_decode(v, budget, depth + 1) for v in data]
    if not isinstance(data, dict):
        raise WireError("unknown value in the collected data")
    if len(data) != 1 or not next(iter(data)).startswith("__"):
        # A collector's own record: plain string keys, values encoded.
        _spend(budget, len(data))
        if any(not isinstance(k, str) or k.startswith("__") for k in data):
            raise WireError("malformed record")
        return {k: _decode(v, budget, depth + 1) for k, v in data.items()}
    (tag, body), = data.items()
    if tag == "__int__":
        text = _text(body)
        if len(text) > 400:
            raise WireError("integer too long")
        return int(text)
    if tag == "__float__":
        if body not in ("nan", "inf", "-inf"):
            raise WireError("unknown float")
        return float(body)
    if tag == "__array__":
        return _decode_array(body, budget)
    if tag == "__error__":
        if not isinstance(body, dict):
            raise WireError("malformed error")
        return Error(_text(body.get("type", "")), _text(body.get("message", "")))
    if tag == "__object__":
        return Object(_text(body))
    if tag == "__tuple__":
        if not isinstance(body, list):
            raise WireError("malformed tuple")
        _spend(budget, len(body))
        return tuple(_decode(v, budget, depth + 1) for v in body)
    if tag == "__dict__":
        if not isinstance(body, list):
            raise WireError("malformed dict")
        _spend(budget, len(body))
        out = {}
        for pair in body:
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("malformed dict entry")
            key = _decode(pair[0], budget, depth + 1)
            if not isinstance(key, str | int | float | bool | type(None) | tuple):
                raise WireError("unhashable dict key")
            out[key] = _decode(pair[1], budget, depth + 1)
        return out
    raise WireError(f"unknown tag {tag[:40]!r}")


def _decode_array(body, budget) -> np.ndarray:
    if not isinstance(body, dict):
        raise WireError("malformed array")
    dtype, shape = body.get("dtype"), body.get("shape")
    if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
        raise WireError(f"arrays of dtype {str(dtype)[:40]} are not accepted")
    if not isinstance(shape, list) or len(shape) > 8 or not all(isinstance(n, int) and 0 <= n for n in shape):
        raise WireError("malformed array shape")
    itemsize = np.dtype(dtype).itemsize
    expected = math.prod(shape) * itemsize
    if expected > MAX_ARRAY_BYTES:
        raise WireError("array too large")
    budget[1] -= expected  # charged before inflating: a payload of many small zips cannot add up to gigabytes
    if budget[1] < 0:
        raise WireError("the arrays of this payload add up to too many bytes")
    try:
        packed = base64.b64decode(body.get("data", ""), validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, expected + 1)
    except (ValueError, TypeError, zlib.error) as err:
        raise WireError(f"array data unreadable: {err}") from None
    if len(raw) != expected or inflater.unconsumed_tail:
        raise WireError("array data does not match its shape")
    array = np.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)  # writable, one copy
    return array.view(Tensor) if body.get("tensor") is True else array
