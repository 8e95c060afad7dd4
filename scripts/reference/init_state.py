#!/usr/bin/python3
"""Writes the initial training state of a configuration (docs/formats.md "Training state").

    /usr/bin/python3 scripts/reference/init_state.py --config C.json --seed N --out S.safetensors

Weights come from torch.manual_seed(seed); no optimiser buffers (a fresh optimiser); step 0;
rng.cpu = torch.Generator().manual_seed(seed).get_state(). The metadata carries
format = imlm-native/train-state, format_version = 1 and the configuration.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import config as config_lib  # noqa: E402
import safetensors_io  # noqa: E402
import state as state_lib  # noqa: E402


def initial_state(cfg, seed: int):
    """(tensors, metadata) of a fresh run."""
    run = state_lib.new_run(cfg, seed, torch.device("cpu"))
    return state_lib.run_to_tensors(run), state_lib.state_metadata(cfg)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="configuration JSON")
    parser.add_argument("--seed", required=True, type=int, help="initialisation and generator seed")
    parser.add_argument("--out", required=True, help="output .safetensors")
    args = parser.parse_args(argv)
    try:
        cfg = config_lib.load(args.config)
    except ValueError as exc:
        print(f"init_state: {exc}", file=sys.stderr)
        return 1
    tensors, metadata = initial_state(cfg, args.seed)
    safetensors_io.save(args.out, tensors, metadata)
    return 0


if __name__ == "__main__":
    sys.exit(main())
