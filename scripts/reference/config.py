"""The training configuration of docs/formats.md: loading and strict validation.

The reference does not know the presets (kaku2021, mocov2), so it needs the *resolved*
configuration: every field that the chosen options use must be present. imlm-native writes that
resolved configuration into the `config` metadata of every state it saves, so a state's metadata
is always a valid source.

Blocks that the chosen options do not use may be left out: `intermediate.mse` unless the loss is
`mse`, `intermediate.barlow` unless it is `barlow`, `optimizer.milestones`/`gamma` unless the
schedule is `step`. Fields the reference does not know are ignored (newer configs may add some).
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List

ARCHS = ("resnet18", "resnet34", "resnet50")
STEMS = ("standard", "small")
HEADS = ("fc", "mlp")
KEY_MOMENTUM_SCHEDULES = ("constant", "cosine")
INTERMEDIATE_LOSSES = ("none", "mse", "barlow")
BARLOW_WEIGHTINGS = ("kaku2021", "original")
LR_SCHEDULES = ("constant", "step", "cosine")
PRECISIONS = ("fp32", "bf16", "fp16")


class ConfigError(ValueError):
    """A configuration field that is missing or has a value outside the contract."""


_HINT = ("Pass the resolved configuration of docs/formats.md (for example the `config` metadata "
         "of a state that imlm-native wrote).")


def _get(obj: Dict[str, Any], path: str, expected: str) -> Any:
    """The value at a dotted path; ConfigError naming the path when it is absent."""
    node: Any = obj
    walked = []
    for part in path.split("."):
        walked.append(part)
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"config field '{'.'.join(walked)}' is missing: expected {expected}. "
                              + _HINT)
        node = node[part]
    return node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _bad(path: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"config field '{path}': expected {expected}, received {value!r}. " + _HINT)


def _choice(obj, path, choices):
    expected = "one of " + ", ".join(repr(c) for c in choices)
    value = _get(obj, path, expected)
    if value not in choices:
        raise _bad(path, expected, value)
    return value


def _int(obj, path, minimum=None):
    expected = "an integer" + (f" >= {minimum}" if minimum is not None else "")
    value = _get(obj, path, expected)
    if not _is_int(value) or (minimum is not None and value < minimum):
        raise _bad(path, expected, value)
    return value


def _number(obj, path, minimum=None, maximum=None, exclusive_minimum=False):
    expected = "a finite number"
    if minimum is not None:
        expected += f" {'>' if exclusive_minimum else '>='} {minimum}"
    if maximum is not None:
        expected += f" <= {maximum}"
    value = _get(obj, path, expected)
    ok = _is_number(value)
    if ok and minimum is not None:
        ok = value > minimum if exclusive_minimum else value >= minimum
    if ok and maximum is not None:
        ok = value <= maximum
    if not ok:
        raise _bad(path, expected, value)
    return value


def _bool(obj, path):
    value = _get(obj, path, "true or false")
    if not isinstance(value, bool):
        raise _bad(path, "true or false", value)
    return value


def _int_list(obj, path, length=None, minimum=None):
    expected = (f"a list of {length} integers" if length is not None else "a list of integers")
    if minimum is not None:
        expected += f", each >= {minimum}"
    value = _get(obj, path, expected)
    if (not isinstance(value, list) or (length is not None and len(value) != length)
            or not all(_is_int(v) and (minimum is None or v >= minimum) for v in value)):
        raise _bad(path, expected, value)
    return value


def _number_list(obj, path, length):
    expected = f"a list of {length} finite numbers"
    value = _get(obj, path, expected)
    if not isinstance(value, list) or len(value) != length or not all(_is_number(v) for v in value):
        raise _bad(path, expected, value)
    return value


def validate(config: Dict[str, Any]) -> Dict[str, Any]:
    """Checks every field the reference uses; returns the config unchanged or raises ConfigError."""
    if not isinstance(config, dict):
        raise ConfigError(f"the configuration must be a JSON object, received "
                          f"{type(config).__name__}. " + _HINT)
    _choice(config, "arch", ARCHS)
    _choice(config, "stem", STEMS)
    _choice(config, "inChannels", (1, 3))
    _bool(config, "zeroInitResidual")
    _int(config, "embeddingDim", 1)
    _choice(config, "head", HEADS)
    _int(config, "queueSize", 1)
    _number(config, "temperature", 0, exclusive_minimum=True)
    _number(config, "keyMomentum", 0, 1)
    _choice(config, "keyMomentumSchedule", KEY_MOMENTUM_SCHEDULES)
    _int(config, "shuffleGroups", 1)

    loss = _choice(config, "intermediate.loss", INTERMEDIATE_LOSSES)
    if loss == "mse":
        _int_list(config, "intermediate.mse.poolSizes", 4, 1)
        _number_list(config, "intermediate.mse.weights", 4)
    if loss == "barlow":
        _int_list(config, "intermediate.barlow.projectorDims", 3, 1)
        _number(config, "intermediate.barlow.lambda")
        _number(config, "intermediate.barlow.scale")
        _choice(config, "intermediate.barlow.weighting", BARLOW_WEIGHTINGS)

    _number(config, "optimizer.lr", 0)
    momentum = _number(config, "optimizer.momentum", 0)
    _number(config, "optimizer.weightDecay", 0)
    nesterov = _bool(config, "optimizer.nesterov")
    if nesterov and momentum <= 0:
        raise _bad("optimizer.nesterov", "false when optimizer.momentum is 0 (Nesterov momentum "
                                         "needs a momentum > 0)", nesterov)
    schedule = _choice(config, "optimizer.schedule", LR_SCHEDULES)
    warmup = _int(config, "optimizer.warmupSteps", 0)
    if schedule == "step":
        _int_list(config, "optimizer.milestones", None, 0)
        _number(config, "optimizer.gamma", 0)
    _number(config, "optimizer.gradClip", 0)
    total = _int(config, "totalSteps", 1)
    if schedule == "cosine" and total <= warmup:
        raise _bad("totalSteps", f"an integer > optimizer.warmupSteps ({warmup}) for the cosine "
                                 "learning-rate schedule", total)
    return config


def validate_run_fields(config: Dict[str, Any]) -> Dict[str, Any]:
    """The fields only a run from scratch needs (bench_step.py, init_state.py)."""
    _int(config, "batchSize", 1)
    _int(config, "imageSize", 1)
    _choice(config, "precision", PRECISIONS)
    _bool(config, "channelsLast")
    _bool(config, "cudnnBenchmark")
    return config


def unwrap(obj: Any) -> Dict[str, Any]:
    """Accepts the bare config object, or an object whose `config` member is the config (as an
    object or as a JSON string, the form it takes in a state's `__metadata__`)."""
    if isinstance(obj, dict) and "arch" not in obj and "config" in obj:
        inner = obj["config"]
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError as exc:
                raise ConfigError(f"the `config` member is a string but not JSON ({exc})") from None
        return inner
    return obj


def load(path: str) -> Dict[str, Any]:
    """Reads and validates a configuration JSON file."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            obj = json.load(f)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    return validate(unwrap(obj))


def from_metadata(metadata: Dict[str, str], source: str) -> Dict[str, Any]:
    """The config stored in a safetensors file's metadata (key `config`)."""
    if "config" not in metadata:
        raise ConfigError(f"{source} has no `config` in its metadata; pass --config C.json")
    try:
        obj = json.loads(metadata["config"])
    except ValueError as exc:
        raise ConfigError(f"{source}: the `config` metadata is not JSON ({exc})") from None
    return validate(unwrap(obj))


def to_json(config: Dict[str, Any]) -> str:
    """The compact JSON form stored in `__metadata__`."""
    return json.dumps(config, separators=(",", ":"))


def block_channels(arch: str) -> List[int]:
    """C_1..C_4: channels of the outputs of layer1..layer4."""
    return [256, 512, 1024, 2048] if arch == "resnet50" else [64, 128, 256, 512]


def feature_dim(arch: str) -> int:
    """F: width of the pooled layer4 output that feeds the head."""
    return block_channels(arch)[-1]
