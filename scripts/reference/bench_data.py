#!/usr/bin/python3
"""The torchvision data pipeline imlm-native's is compared with (npm run bench:data).

    /usr/bin/python3 scripts/reference/bench_data.py --make DIR --count N --size S
        writes N smooth random RGB images of S×S as PNG files into DIR and, with the same
        pixels, DIR/images.safetensors (`images` U8 [N, 3, S, S]) for imlm-native;
    /usr/bin/python3 scripts/reference/bench_data.py --images DIR --crop 128 --batch 32 --workers 2 --batches B
        times the reference pipeline: PIL decode of each PNG every time (as the reference
        repository's datasets do), then the BCH SSL transforms of docs/method.md, "Augmentation policies" for two views —
        RandomResizedCrop(crop, scale (0.4, 1)), RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), 0.8),
        RandomGrayscale(0.2), RandomApply(PIL GaussianBlur σ ∈ [0.1, 2], 0.5),
        RandomHorizontalFlip, ToTensor — through a DataLoader. Prints one JSON line.
"""

import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from torchvision import transforms  # noqa: E402

import safetensors_io  # noqa: E402


class PilGaussianBlur:
    """MoCo v2's blur: PIL GaussianBlur with a radius drawn from [0.1, 2]."""

    def __call__(self, img):
        return img.filter(ImageFilter.GaussianBlur(radius=random.uniform(0.1, 2.0)))


class TwoViews:
    def __init__(self, transform):
        self.transform = transform

    def __call__(self, img):
        return self.transform(img), self.transform(img)


class PngFolder(torch.utils.data.Dataset):
    def __init__(self, folder, transform):
        self.files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".png"))
        self.transform = transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.transform(Image.open(self.files[i]).convert("RGB"))


def make(folder, count, size):
    os.makedirs(folder, exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    coarse = torch.rand(count, 3, size // 8, size // 8, generator=generator)
    images = (torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False) * 255).round().clamp(0, 255).to(torch.uint8)
    for i in range(count):
        Image.fromarray(images[i].permute(1, 2, 0).numpy()).save(os.path.join(folder, f"{i:05d}.png"))
    safetensors_io.save(os.path.join(folder, "images.safetensors"), {"images": images})


def bench(folder, crop, batch, workers, batches):
    transform = transforms.Compose([
        transforms.RandomResizedCrop(crop, scale=(0.4, 1.0)),
        transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        transforms.RandomGrayscale(p=0.2),
        transforms.RandomApply([PilGaussianBlur()], p=0.5),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
    ])
    dataset = PngFolder(folder, TwoViews(transform))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True,
                                         persistent_workers=workers > 0)
    produced = 0
    it = iter(loader)
    next(it)  # start-up of the workers is not timed
    start = time.perf_counter()
    while produced < batches:
        try:
            q, k = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        produced += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"images_per_second": produced * batch / seconds, "seconds": seconds, "workers": workers,
                      "torch": torch.__version__}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--make")
    parser.add_argument("--count", type=int, default=512)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--images")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    if args.make:
        make(args.make, args.count, args.size)
    if args.images:
        bench(args.images, args.crop, args.batch, args.workers, args.batches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
