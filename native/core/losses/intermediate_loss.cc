#include "core/losses/intermediate_loss.h"

#include <ATen/Functions.h>

#include "core/errors.h"

namespace imlm::losses {
namespace {

/** "none": InfoNCE alone. The block terms are reported as zeros. */
class NoIntermediateLoss final : public IntermediateLoss {
 public:
  bool addsTerms() const override { return false; }
  at::Tensor reduceKeyFeature(size_t block, const at::Tensor& feature) const override { return feature; }
  at::Tensor term(size_t block, const at::Tensor& query, const at::Tensor& key, dist::ProcessGroup* group) override {
    return at::zeros({}, query.options());
  }
};

std::unique_ptr<IntermediateLoss> makeNoIntermediateLoss(const IntermediateLossOptions& options,
                                                         const EncoderBlocks& encoder) {
  return std::make_unique<NoIntermediateLoss>();
}

using IntermediateLossFactory = std::unique_ptr<IntermediateLoss> (*)(const IntermediateLossOptions&,
                                                                     const EncoderBlocks&);

struct RegisteredLoss {
  const char* name;
  IntermediateLossFactory make;
};

// The intermediate losses, by the name configurations use. lib/config/train-config.ts
// (INTERMEDIATE_LOSSES) lists the same names for types, the schema and the CLI.
constexpr RegisteredLoss kIntermediateLosses[] = {
    {"none", makeNoIntermediateLoss},
    {"mse", makeLayerMseLoss},
    {"barlow", makeBarlowTwinsLoss},
};

}  // namespace

std::unique_ptr<IntermediateLoss> makeIntermediateLoss(const IntermediateLossOptions& options, const EncoderBlocks& encoder) {
  std::string known;
  for (const RegisteredLoss& loss : kIntermediateLosses) {
    if (options.name == loss.name) return loss.make(options, encoder);
    known += (known.empty() ? "'" : ", '") + std::string(loss.name) + "'";
  }
  throw Error(ErrorCode::kInvalidArgument,
              "expected config.intermediate.loss to be one of " + known + " but received '" + options.name + "'");
}

}  // namespace imlm::losses
