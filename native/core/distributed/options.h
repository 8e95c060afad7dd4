// Where a rank stands in a distributed run, as plain data. TypeScript reads it from the
// launcher's environment (torchrun, SLURM or `--nproc-per-node`, lib/distributed/env.ts) and the
// bridge copies it here.
#pragma once

#include <cstdint>
#include <string>

namespace imlm::dist {

struct DistOptions {
  int64_t rank = 0;
  int64_t worldSize = 1;  // 1: no process group, no collectives
  int64_t localRank = 0;  // picks the GPU for device 'auto' / 'cuda'
  std::string masterAddr = "127.0.0.1";
  int64_t masterPort = 29500;
  std::string backend = "auto";  // auto (nccl on CUDA, gloo on CPU) | gloo | nccl
  double timeoutSeconds = 1800;  // rendezvous and each collective (c10d's default: 30 min)
  // Gradient all-reduce bucket size (DDP's default is 25 MB): a bucket starts reducing as soon
  // as all its gradients exist, while the backward pass goes on.
  double bucketMb = 25;
  // MoCo's shuffle-BN across ranks for the key encoder (the reference's default); off: each
  // rank's key encoder normalises over its own batch.
  bool shuffleBn = true;
  // SyncBatchNorm instead of shuffle-BN: every batch norm of both encoders and of Barlow Twins'
  // projectors normalises over the global batch (torch.nn.SyncBatchNorm's statistics); the key
  // batch is then not shuffled. Costs one small all-reduce per BN layer, forward and backward.
  bool syncBn = false;
  // Join a process group even alone (world size 1): checks a backend (NCCL on a one-GPU server,
  // scripts/gpu-check.sh) through the same code path. Off: one rank means no group at all.
  bool forceGroup = false;

  bool distributed() const { return worldSize > 1 || forceGroup; }
};

}  // namespace imlm::dist
