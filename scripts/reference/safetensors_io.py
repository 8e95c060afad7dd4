"""Read and write safetensors files with NumPy and PyTorch only.

This replaces `safetensors.torch.load_file` / `save_file` where the `safetensors` package is not
installed (this repository's reference machine has no network). The layout is the standard one
(https://huggingface.co/docs/safetensors) as described in docs/formats.md:

    [8 bytes: little-endian u64 header length n][n bytes: UTF-8 JSON header][data section]

The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets are
relative to the start of the data section) and may hold "__metadata__", a string -> string map.

Writing follows the real library byte for byte where the contract allows it: compact JSON
(no spaces), "__metadata__" first, then the tensors in data order, the header padded with spaces
to a multiple of 8 bytes, data contiguous and little-endian with no gaps. The one difference from
`safetensors.torch.save_file` is the data order: docs/formats.md asks for *name* order, while the
Rust library groups tensors by dtype (largest alignment first) and then by name. Both layouts are
valid safetensors and each library reads the other's files.

Reading is strict, as docs/formats.md asks: every refusal raises SafetensorsFormatError whose
message starts with ERR_FORMAT and names the file and, where it applies, the tensor.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Optional, Tuple

import numpy as np
import torch

# The real library refuses headers above 100 MB (MAX_HEADER_SIZE = 100_000_000); so do we.
MAX_HEADER_BYTES = 100_000_000

# safetensors dtype name -> (torch dtype, little-endian NumPy dtype used to move the bytes).
# BF16 has no NumPy dtype: its bytes travel as little-endian int16 and are reinterpreted.
# BOOL is one byte per element (0 or 1), read and written through uint8.
_DTYPES: Dict[str, Tuple[torch.dtype, np.dtype]] = {
    "F32": (torch.float32, np.dtype("<f4")),
    "F64": (torch.float64, np.dtype("<f8")),
    "F16": (torch.float16, np.dtype("<f2")),
    "BF16": (torch.bfloat16, np.dtype("<i2")),
    "I64": (torch.int64, np.dtype("<i8")),
    "I32": (torch.int32, np.dtype("<i4")),
    "U8": (torch.uint8, np.dtype("u1")),
    "BOOL": (torch.bool, np.dtype("u1")),
}
_NAME_OF_TORCH_DTYPE = {torch_dtype: name for name, (torch_dtype, _) in _DTYPES.items()}

METADATA_KEY = "__metadata__"


class SafetensorsFormatError(ValueError):
    """A file that is not a well-formed safetensors file (docs/formats.md: ERR_FORMAT)."""

    def __init__(self, path: str, problem: str, tensor: Optional[str] = None):
        where = f"{path}: tensor '{tensor}'" if tensor is not None else f"{path}"
        super().__init__(f"ERR_FORMAT: {where}: {problem}")
        self.path = path
        self.tensor = tensor


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _reject_duplicate_keys(pairs):
    """json object hook: Python's json keeps the last duplicate silently; a header with two
    entries of one name is ambiguous, so refuse it."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key '{key}' in the JSON header")
        obj[key] = value
    return obj


def _is_json_int(value) -> bool:
    # bool is a subclass of int in Python; true/false are not valid sizes or offsets.
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_header(path: str, header_bytes: bytes, data_len: int):
    """Validates the JSON header; returns (entries sorted by begin offset, metadata)."""
    try:
        header = json.loads(header_bytes.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SafetensorsFormatError(path, f"the header is not valid UTF-8 JSON ({exc})") from None
    if not isinstance(header, dict):
        raise SafetensorsFormatError(
            path, f"the header must be a JSON object, found {type(header).__name__}")

    metadata: Dict[str, str] = {}
    if METADATA_KEY in header:
        raw = header[METADATA_KEY]
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise SafetensorsFormatError(
                path, f"'{METADATA_KEY}' must be a map of string to string, found {raw!r:.200}")
        metadata = dict(raw)

    entries = []
    for name, info in header.items():
        if name == METADATA_KEY:
            continue
        if not isinstance(info, dict) or set(info.keys()) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsFormatError(
                path, 'expected {"dtype", "shape", "data_offsets"}, found ' + f"{info!r:.200}", name)
        dtype_name, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype_name, str) or dtype_name not in _DTYPES:
            raise SafetensorsFormatError(
                path, f"unknown dtype {dtype_name!r} (known: {', '.join(sorted(_DTYPES))})", name)
        if not isinstance(shape, list) or not all(_is_json_int(d) for d in shape):
            raise SafetensorsFormatError(path, f"shape must be a list of integers, found {shape!r}",
                                         name)
        if any(d < 0 for d in shape):
            raise SafetensorsFormatError(path, f"shape {shape} has a negative entry", name)
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(_is_json_int(o) for o in offsets)):
            raise SafetensorsFormatError(
                path, f"data_offsets must be [begin, end] integers, found {offsets!r}", name)
        begin, end = offsets
        if begin < 0 or end < begin:
            raise SafetensorsFormatError(path, f"data_offsets [{begin}, {end}] are not ordered",
                                         name)
        itemsize = _DTYPES[dtype_name][1].itemsize
        expected_bytes = int(np.prod(shape, dtype=np.int64)) * itemsize if shape else itemsize
        if end - begin != expected_bytes:
            raise SafetensorsFormatError(
                path, f"end - begin = {end - begin} bytes, but shape {shape} x {dtype_name} "
                      f"({itemsize} bytes) needs {expected_bytes}", name)
        if end > data_len:
            raise SafetensorsFormatError(
                path, f"data_offsets [{begin}, {end}] fall outside the data section "
                      f"({data_len} bytes)", name)
        entries.append((begin, end, name, dtype_name, shape))

    # Overlap check: sorted by (begin, end), every tensor must start at or after the previous
    # one's end. Empty tensors (begin == end) overlap nothing.
    entries.sort()
    previous_end, previous_name = 0, None
    for begin, end, name, _, _ in entries:
        if begin < previous_end and begin != end:
            raise SafetensorsFormatError(
                path, f"data [{begin}, {end}] overlaps tensor '{previous_name}' "
                      f"(which ends at {previous_end})", name)
        if end > begin:
            previous_end, previous_name = end, name
    return entries, metadata


def load(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Reads a safetensors file into CPU tensors.

    Returns (tensors by name, metadata). The metadata is {} when the file has none.
    Raises SafetensorsFormatError (message starting with ERR_FORMAT) for a malformed file.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise SafetensorsFormatError(path, f"the file has {len(blob)} bytes, fewer than the "
                                           "8-byte header length")
    header_len = int.from_bytes(blob[:8], "little", signed=False)
    if header_len > MAX_HEADER_BYTES:
        raise SafetensorsFormatError(
            path, f"header length {header_len} is above the {MAX_HEADER_BYTES}-byte limit")
    if 8 + header_len > len(blob):
        raise SafetensorsFormatError(
            path, f"header length {header_len} goes beyond the end of the file "
                  f"({len(blob)} bytes)")
    data = memoryview(blob)[8 + header_len:]
    entries, metadata = _parse_header(path, blob[8:8 + header_len], len(data))

    tensors: Dict[str, torch.Tensor] = {}
    for begin, end, name, dtype_name, shape in entries:
        torch_dtype, np_dtype = _DTYPES[dtype_name]
        # .copy(): own the memory (the blob is freed after loading) and get a writable array.
        array = np.frombuffer(data[begin:end], dtype=np_dtype).copy()
        # astype to the native byte order (a no-op on little-endian machines).
        array = array.astype(np_dtype.newbyteorder("="), copy=False).reshape(shape)
        if dtype_name == "BF16":
            tensor = torch.from_numpy(array).view(torch.bfloat16)
        elif dtype_name == "BOOL":
            tensor = torch.from_numpy(array != 0)
        else:
            tensor = torch.from_numpy(array)
        assert tensor.dtype == torch_dtype
        tensors[name] = tensor
    return tensors, metadata


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _tensor_bytes(name: str, tensor: torch.Tensor) -> Tuple[str, bytes]:
    """(safetensors dtype name, contiguous little-endian bytes) of a tensor on any device."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor '{name}': expected a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dtype not in _NAME_OF_TORCH_DTYPE:
        raise TypeError(
            f"tensor '{name}': dtype {tensor.dtype} cannot be written; supported: "
            f"{', '.join(str(d) for d in _NAME_OF_TORCH_DTYPE)}. Convert it first.")
    dtype_name = _NAME_OF_TORCH_DTYPE[tensor.dtype]
    cpu = tensor.detach().to("cpu").contiguous()
    if dtype_name == "BF16":
        array = cpu.view(torch.int16).numpy()
    elif dtype_name == "BOOL":
        array = cpu.numpy().astype(np.uint8)
    else:
        array = cpu.numpy()
    return dtype_name, array.astype(_DTYPES[dtype_name][1], copy=False).tobytes()


def serialize(tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The bytes of a safetensors file holding `tensors` (written in name order) and `metadata`."""
    if metadata is not None:
        bad = {k: v for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)}
        if bad:
            raise TypeError(f"metadata must map str to str; offending entries: {bad!r:.200}")
    header: Dict[str, object] = {}
    if metadata is not None:
        header[METADATA_KEY] = dict(metadata)
    chunks = []
    offset = 0
    for name in sorted(tensors):
        if name == METADATA_KEY:
            raise ValueError(f"'{METADATA_KEY}' is reserved and cannot name a tensor")
        dtype_name, raw = _tensor_bytes(name, tensors[name])
        header[name] = {"dtype": dtype_name, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    # Compact JSON and raw UTF-8, like serde_json in the Rust library.
    header_bytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    return len(header_bytes).to_bytes(8, "little") + header_bytes + b"".join(chunks)


def save(path: str, tensors: Dict[str, torch.Tensor],
         metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes a safetensors file atomically.

    The bytes go to `<path>.tmp-<pid>` in the same folder, are flushed and fsync'ed, and the
    file is renamed over `path`; the folder is then fsync'ed so the rename itself is durable.
    A crash at any point leaves either the previous file or the new one, never a torn file.
    """
    path = os.fspath(path)
    blob = serialize(tensors, metadata)
    folder = os.path.dirname(os.path.abspath(path))
    tmp_path = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp_path, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open folders; the rename has happened anyway
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
