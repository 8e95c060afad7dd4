"""Features of a training state's query encoder, computed by the torchvision reference network
(model.build_encoder) in eval mode: the independent forward that test/eval/embed.test.ts compares
`imlm-native embed` with.

    python3 embed.py --state last.safetensors --images test.safetensors --out ref.safetensors [--image-size S]

Writes block1..block4 (global-average-pooled stage outputs) and embedding (L2-normalised head).
"""

from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F

import model as model_lib
import safetensors_io


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--images", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--image-size", type=int, default=0)
    args = parser.parse_args()

    tensors, metadata = safetensors_io.load(args.state)
    cfg = json.loads(metadata["config"])
    encoder = model_lib.build_encoder(cfg)
    prefix = "encoder_q."
    encoder.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    encoder.eval()

    shard, _ = safetensors_io.load(args.images)
    x = shard["images"].float() / 255.0
    if args.image_size and x.shape[-1] != args.image_size:
        x = F.interpolate(x, size=(args.image_size, args.image_size), mode="bilinear", align_corners=False)
    with torch.no_grad():
        embedding, blocks = encoder(x)
    out = {f"block{i + 1}": b.mean(dim=(2, 3)).contiguous() for i, b in enumerate(blocks)}
    out["embedding"] = F.normalize(embedding, dim=1).contiguous()
    safetensors_io.save(args.out, out)


if __name__ == "__main__":
    main()
