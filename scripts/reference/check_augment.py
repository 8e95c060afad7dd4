#!/usr/bin/python3
"""Applies torchvision's functional ops to the inputs of an augmentation test and compares.

    /usr/bin/python3 scripts/reference/check_augment.py CASE.safetensors OP

CASE holds `input` (N×C×H×W float32), `output` (imlm-native's result) and the per-sample
parameters imlm-native drew (`brightness`, `contrast`, `saturation`, `hue`, `blurSigma`). OP names
the one operation the policy enabled: brightness, contrast, saturation, hue or blur (kernel size
2·ceil(3·σmax)+1 with σmax 2, as native/core/augment). Prints {"max_abs_diff": …}.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torchvision.transforms.functional as F  # noqa: E402

import safetensors_io  # noqa: E402


def main(argv) -> int:
    tensors, _ = safetensors_io.load(argv[0])
    op = argv[1]
    images, ours = tensors["input"], tensors["output"]
    expected = []
    for i in range(images.shape[0]):
        img = images[i]
        if op == "brightness":
            out = F.adjust_brightness(img, float(tensors["brightness"][i]))
        elif op == "contrast":
            out = F.adjust_contrast(img, float(tensors["contrast"][i]))
        elif op == "saturation":
            out = F.adjust_saturation(img, float(tensors["saturation"][i]))
        elif op == "hue":
            out = F.adjust_hue(img, float(tensors["hue"][i]))
        elif op == "blur":
            sigma = float(tensors["blurSigma"][i])
            out = F.gaussian_blur(img, [13, 13], [sigma, sigma]) if sigma > 0 else img
        else:
            raise SystemExit(f"unknown op {op}")
        expected.append(out)
    diff = (torch.stack(expected) - ours).abs().max().item()
    print(json.dumps({"max_abs_diff": diff}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
