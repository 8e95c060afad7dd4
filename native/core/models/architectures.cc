#include "core/models/architectures.h"

#include "core/errors.h"

namespace imlm::models {

const std::vector<Architecture>& architectures() {
  // torchvision's table (torchvision/models/resnet.py).
  static const std::vector<Architecture> kTable = {
      {"resnet18", false, {2, 2, 2, 2}},
      {"resnet34", false, {3, 4, 6, 3}},
      {"resnet50", true, {3, 4, 6, 3}},
      {"resnet101", true, {3, 4, 23, 3}},
      {"resnet152", true, {3, 8, 36, 3}},
  };
  return kTable;
}

std::string architectureNamesForMessage() {
  const auto& table = architectures();
  std::string out;
  for (size_t i = 0; i < table.size(); ++i) {
    if (i > 0) out += i + 1 == table.size() ? " or " : ", ";
    out += "'" + table[i].name + "'";
  }
  return out;
}

const Architecture& architectureNamed(const std::string& name) {
  for (const auto& a : architectures()) {
    if (a.name == name) return a;
  }
  throw Error(ErrorCode::kInvalidArgument,
              "expected arch " + architectureNamesForMessage() + " but received '" + name + "'");
}

const Architecture* architectureWithBlocks(bool bottleneck, const std::array<int64_t, 4>& blocks) {
  for (const auto& a : architectures()) {
    if (a.bottleneck == bottleneck && a.blocks == blocks) return &a;
  }
  return nullptr;
}

}  // namespace imlm::models
