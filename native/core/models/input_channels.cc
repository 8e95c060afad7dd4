#include "core/models/input_channels.h"

#include <ATen/Functions.h>

#include "core/errors.h"

namespace imlm::models {

void fitInputChannels(io::TensorMap& weights, int64_t inChannels, InitChannels mode, const std::string& origin) {
  auto it = weights.find("conv1.weight");
  if (it == weights.end() || it->second.dim() != 4) return;
  const int64_t found = it->second.size(1);
  if (found == inChannels) return;
  const std::string what = origin + ": conv1.weight has " + std::to_string(found) + " input channel(s) but this network takes " +
                           std::to_string(inChannels);
  if (inChannels != 1) {
    throw Error(ErrorCode::kInvalidArgument,
                what + "; only weights of several channels can be adapted, and only to a 1-channel network (--init-channels sum); "
                       "train with --channels " + std::to_string(found) + " or start from " + std::to_string(inChannels) +
                       "-channel weights");
  }
  if (mode == InitChannels::kRefuse) {
    throw Error(ErrorCode::kInvalidArgument,
                what + " (e.g. ImageNet weights into a grey-image model); to adapt them by summing conv1 over its input channels, "
                       "pass --init-channels sum (API: initChannels: 'sum'), or train with --channels " + std::to_string(found));
  }
  it->second = it->second.sum(1, /*keepdim=*/true).contiguous();
}

}  // namespace imlm::models
