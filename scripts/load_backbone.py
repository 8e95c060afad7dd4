"""Load an imlm-native backbone into torchvision — any architecture, stem and channel count.

imlm-native writes `backbone.safetensors` (and `checkpoints/*.safetensors`) with torchvision's
tensor names. A plain `torchvision.models.resnet18()` accepts it only when the run used the
standard stem and 3 input channels; this module builds the torchvision model that matches the
file (docs/formats.md, "Backbone file"):

    import sys; sys.path.insert(0, "node_modules/imlm-native/scripts")
    from load_backbone import load_backbone, preprocess, block_features

    model, info = load_backbone("runs/demo/backbone.safetensors")   # eval mode, fc = Identity
    x = preprocess(images_uint8, info["image_size"])                 # N×C×H×W uint8 -> float
    pooled = model(x)                                                # N×F (the representation)
    blocks = block_features(model, x)                                # pooled layer1..layer4

Input convention: pixels scaled to [0, 1] (x / 255), no mean/std normalisation, bilinearly
resized to the training image size (align_corners=False) — what `imlm-native embed` does.

Only torch and torchvision are needed; the file is read with the `safetensors` package when it
is installed, else with the reader in scripts/reference/safetensors_io.py.

As a command, it writes the features `imlm-native embed` writes for a backbone (block1..block4):

    python3 load_backbone.py backbone.safetensors --images test.safetensors --out features.safetensors [--image-size S]
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

# Blocks per stage of torchvision's ResNets (torchvision/models/resnet.py); the same table as
# native/core/models/architectures.cc.
_BLOCKS = {
    "resnet18": (False, [2, 2, 2, 2]),
    "resnet34": (False, [3, 4, 6, 3]),
    "resnet50": (True, [3, 4, 6, 3]),
    "resnet101": (True, [3, 4, 23, 3]),
    "resnet152": (True, [3, 8, 36, 3]),
}

_TRAIN_STATE_PREFIX = "encoder_q."


def _reference_io():
    """scripts/reference/safetensors_io.py: NumPy and PyTorch only, shipped with the package."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
    import safetensors_io  # noqa: E402

    return safetensors_io


def _read(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    try:
        from safetensors import safe_open  # type: ignore

        with safe_open(path, framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except ImportError:
        return _reference_io().load(path)


def _blocks_in(weights: Dict[str, torch.Tensor], layer: int) -> int:
    n = 0
    while f"layer{layer}.{n}.conv1.weight" in weights:
        n += 1
    return n


def describe(weights: Dict[str, torch.Tensor], metadata: Dict[str, str]) -> Dict[str, Any]:
    """arch, stem, in_channels and image_size of a backbone, from its metadata where recorded and
    from its tensors otherwise (files written before the metadata held them)."""
    conv1 = weights.get("conv1.weight")
    if conv1 is None or conv1.dim() != 4:
        raise ValueError("expected a backbone with torchvision's names (conv1.weight) — pass backbone.safetensors "
                         "or checkpoints/last.safetensors of an imlm-native run")
    bottleneck = "layer1.0.conv3.weight" in weights
    blocks = [_blocks_in(weights, layer) for layer in range(1, 5)]
    inferred = next((name for name, spec in _BLOCKS.items() if spec == (bottleneck, blocks)), None)
    arch = metadata.get("arch", inferred)
    if arch not in _BLOCKS or _BLOCKS[arch] != (bottleneck, blocks):
        raise ValueError(f"expected the blocks of one of {', '.join(_BLOCKS)} but the file has "
                         f"{'Bottleneck' if bottleneck else 'BasicBlock'} blocks {blocks} (metadata arch: {metadata.get('arch')})")
    stem = "small" if conv1.shape[2] == 3 else "standard"
    in_channels = int(conv1.shape[1])
    for key, value in (("stem", stem), ("in_channels", str(in_channels))):
        if key in metadata and metadata[key] != value:
            raise ValueError(f"metadata {key} = {metadata[key]} but conv1.weight {tuple(conv1.shape)} means {value}")
    image_size = int(metadata["image_size"]) if "image_size" in metadata else None
    return {"arch": arch, "stem": stem, "in_channels": in_channels, "image_size": image_size}


def build(arch: str, stem: str = "standard", in_channels: int = 3) -> torchvision.models.ResNet:
    """torchvision's `arch` with imlm-native's stem and channel count, fc = Identity."""
    model = getattr(torchvision.models, arch)()
    if stem == "small":
        # 3×3 stride-1 conv and no max-pool (small images keep their resolution into layer1).
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    model.fc = nn.Identity()
    return model


def load_backbone(path: str) -> Tuple[torchvision.models.ResNet, Dict[str, Any]]:
    """The torchvision model of a backbone or training-state file, in eval mode, with every
    tensor loaded strictly (a missing or extra tensor raises)."""
    tensors, metadata = _read(path)
    if _TRAIN_STATE_PREFIX + "conv1.weight" in tensors:
        tensors = {k[len(_TRAIN_STATE_PREFIX):]: v for k, v in tensors.items() if k.startswith(_TRAIN_STATE_PREFIX)}
    weights = {k: v for k, v in tensors.items() if not k.startswith("fc.")}
    info = describe(weights, metadata)
    model = build(info["arch"], info["stem"], info["in_channels"])
    model.load_state_dict(weights, strict=True)
    model.eval()
    return model, info


def preprocess(images: torch.Tensor, image_size: Optional[int] = None) -> torch.Tensor:
    """uint8 N×C×H×W -> float in [0, 1], resized to image_size (imlm-native's input convention)."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    if image_size and (x.shape[-2] != image_size or x.shape[-1] != image_size):
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x


def block_features(model: torchvision.models.ResNet, x: torch.Tensor) -> List[torch.Tensor]:
    """Global-average-pooled outputs of layer1..layer4 (the features file's block1..block4)."""
    with torch.no_grad():
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        out = []
        for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
            x = layer(x)
            out.append(x.mean(dim=(2, 3)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Block features of an imlm-native backbone, computed by torchvision.")
    parser.add_argument("backbone")
    parser.add_argument("--images", required=True, help="a store shard (images U8 [N, C, H, W])")
    parser.add_argument("--out", required=True)
    parser.add_argument("--image-size", type=int, default=0, help="default: the backbone's recorded image size, else the images' size")
    args = parser.parse_args()
    model, info = load_backbone(args.backbone)
    shard, _ = _read(args.images)
    x = preprocess(shard["images"], args.image_size or info["image_size"])
    features = {f"block{k + 1}": f.contiguous() for k, f in enumerate(block_features(model, x))}
    _reference_io().save(args.out, features)


if __name__ == "__main__":
    main()
