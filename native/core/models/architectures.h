// The one table of ResNet architectures: what the model builder, the checkpoint reader and
// info() know. Adding an architecture is one line in architectures.cc (plus its name in
// lib/config/archs.ts, which a test compares with this table).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace imlm::models {

struct Architecture {
  std::string name;                // torchvision's name, e.g. "resnet50"
  bool bottleneck;                 // Bottleneck blocks (expansion 4) instead of BasicBlock
  std::array<int64_t, 4> blocks;   // blocks in layer1..layer4
};

/** Every architecture, in torchvision's order. */
const std::vector<Architecture>& architectures();

/** The architecture called `name`; throws imlm::Error(kInvalidArgument) listing the names otherwise. */
const Architecture& architectureNamed(const std::string& name);

/** The architecture with these block kinds and counts, or nullptr (reading a state by its tensor names). */
const Architecture* architectureWithBlocks(bool bottleneck, const std::array<int64_t, 4>& blocks);

/** "'resnet18', 'resnet34' or 'resnet50'" — for messages that list what is accepted. */
std::string architectureNamesForMessage();

}  // namespace imlm::models
