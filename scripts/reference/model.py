"""The MoCo v2 model of docs/formats.md: a torchvision ResNet with block taps, a momentum key
encoder, the queue of negatives, and (loss `barlow`) one Barlow Twins projector per block.

Attribute names are chosen so that `MoCo.state_dict()` produces exactly the tensor names of the
training-state contract: encoder_q.*, encoder_k.*, queue, queue_ptr, p1.projector.0.weight,
p1.bn.running_mean, ...
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

import config as config_lib

# torchvision's recipes: block type and blocks per stage.
_RESNET_LAYOUTS = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
}

BlockFeatures = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class TappedResNet(ResNet):
    """torchvision's ResNet (v1.5) whose forward also returns the output of each stage.

    Subclassing (rather than wrapping) keeps torchvision's parameter names at the top level:
    conv1.weight, bn1.running_mean, layer1.0.conv1.weight, ..., fc.weight.
    """

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, BlockFeatures]:
        # x: N×C×H×W
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        # Each x_i is the stage output after the last block's residual add and ReLU.
        x1 = self.layer1(x)   # N×C1×H1×W1
        x2 = self.layer2(x1)  # N×C2×H2×W2
        x3 = self.layer3(x2)  # N×C3×H3×W3
        x4 = self.layer4(x3)  # N×C4×H4×W4
        embedding = self.fc(torch.flatten(self.avgpool(x4), 1))  # N×D
        return embedding, (x1, x2, x3, x4)


def build_encoder(cfg: Dict[str, Any]) -> TappedResNet:
    """One encoder (query or key) as the configuration describes it.

    Initialisation: torchvision's (kaiming_normal fan_out/relu for convs, BN weight 1 bias 0,
    last BN of each residual block 0 when zeroInitResidual), PyTorch defaults for Linear layers.
    """
    block, layers = _RESNET_LAYOUTS[cfg["arch"]]
    embedding_dim = cfg["embeddingDim"]
    # num_classes = D makes torchvision's own fc the Linear(F, D) head.
    encoder = TappedResNet(block, layers, num_classes=embedding_dim,
                           zero_init_residual=cfg["zeroInitResidual"])

    in_channels = cfg["inChannels"]
    replaced_conv1 = None
    if cfg["stem"] == "small":
        # CIFAR-style stem for small images: 3×3 stride-1 conv and no max-pool, so a 32×32
        # input still reaches layer4 at 4×4.
        replaced_conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        encoder.maxpool = nn.Identity()
    elif in_channels != 3:
        # Standard stem, other channel count (1 = grayscale).
        replaced_conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    if replaced_conv1 is not None:
        # A replaced conv gets the initialisation torchvision gives its own convs.
        nn.init.kaiming_normal_(replaced_conv1.weight, mode="fan_out", nonlinearity="relu")
        encoder.conv1 = replaced_conv1

    if cfg["head"] == "mlp":
        # MoCo v2's "brute-force replacement": Linear(F, F) -> ReLU -> the existing Linear(F, D).
        # Names: fc.0.weight/bias, fc.2.weight/bias.
        feature_dim = encoder.fc.in_features
        encoder.fc = nn.Sequential(nn.Linear(feature_dim, feature_dim), nn.ReLU(), encoder.fc)
    return encoder


class Projection(nn.Module):
    """Barlow Twins projector of one block (Kaku et al.'s `Projection`).

    projector: Linear(C_i, h1, no bias) → BN1d(h1) → ReLU → Linear(h1, h2, no bias) → BN1d(h2)
               → ReLU → Linear(h2, h3, no bias)      (indices 0..6, as in the contract)
    bn:        BN1d(h3, affine=False), the normalisation of z before the cross-correlation.
    """

    def __init__(self, in_dim: int, dims):
        super().__init__()
        h1, h2, h3 = dims
        self.projector = nn.Sequential(
            nn.Linear(in_dim, h1, bias=False),
            nn.BatchNorm1d(h1),
            nn.ReLU(),
            nn.Linear(h1, h2, bias=False),
            nn.BatchNorm1d(h2),
            nn.ReLU(),
            nn.Linear(h2, h3, bias=False),
        )
        self.bn = nn.BatchNorm1d(h3, affine=False)

    def forward(self, y_q: torch.Tensor, y_k: torch.Tensor) -> torch.Tensor:
        """Cross-correlation c (h3×h3) of the two views' GAP features y_q, y_k (N×C_i).

        Two separate projector forwards, so every BN computes batch statistics per view and
        updates its running statistics twice per step (z1 first, then z2); the projector gets
        gradient through both. bn is applied to z1, then to z2, each with its own batch stats.
        """
        z1 = self.projector(y_q)  # N×h3
        z2 = self.projector(y_k)  # N×h3
        batch_size = z1.shape[0]
        return self.bn(z1).T @ self.bn(z2) / batch_size  # h3×h3


class MoCo(nn.Module):
    """encoder_q, encoder_k, queue (D×K), queue_ptr (int64 [1]) and, for Barlow, p1..p4."""

    def __init__(self, cfg: Dict[str, Any]):
        super().__init__()
        config_lib.validate(cfg)
        self.encoder_q = build_encoder(cfg)
        # The key encoder starts as an exact copy of the query encoder (parameters and buffers)
        # and is never trained by gradient: it follows encoder_q by momentum.
        self.encoder_k = copy.deepcopy(self.encoder_q)
        for param in self.encoder_k.parameters():
            param.requires_grad = False

        # Negatives: one L2-normalised key per column.
        embedding_dim, queue_size = cfg["embeddingDim"], cfg["queueSize"]
        self.register_buffer("queue", F.normalize(torch.randn(embedding_dim, queue_size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

        if cfg["intermediate"]["loss"] == "barlow":
            dims = cfg["intermediate"]["barlow"]["projectorDims"]
            for i, channels in enumerate(config_lib.block_channels(cfg["arch"]), start=1):
                setattr(self, f"p{i}", Projection(channels, dims))

    def projections(self):
        """[p1, p2, p3, p4] (Barlow) or [] (other losses)."""
        return [getattr(self, f"p{i}") for i in range(1, 5) if hasattr(self, f"p{i}")]

    def trainable_named_parameters(self):
        """(name, parameter) pairs the optimiser updates, in `named_parameters()` order:
        encoder_q.*, then p1.* .. p4.* (encoder_k is frozen)."""
        return [(name, p) for name, p in self.named_parameters() if p.requires_grad]
