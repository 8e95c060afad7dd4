#include "core/eval/encoder.h"

#include <ATen/Functions.h>
#include <c10/core/ScalarType.h>

#include "core/errors.h"
#include "core/eval/backbone_file.h"
#include "core/tensor_io.h"

namespace imlm::eval {
namespace {

std::string typeName(at::ScalarType type) {
  switch (type) {
    case at::kByte: return "uint8";
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    default: return c10::toString(type);
  }
}

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::kInvalidArgument, message); }

}  // namespace

at::Tensor checkedImages(const at::Tensor& images, int64_t inChannels) {
  const std::string channels = std::to_string(inChannels);
  const std::string expected = "images [N, " + channels + ", H, W]" + (inChannels == 1 ? " or [N, H, W]" : "");
  const std::string received = shapeString(images.sizes());
  if (images.dim() != 3 && images.dim() != 4) {
    invalid("expected " + expected + " but received a tensor of rank " + std::to_string(images.dim()) + " " + received +
            "; pass a batch (one image is a batch of 1)");
  }
  if (images.dim() == 3 && inChannels != 1) {
    invalid("expected " + expected + " (this network takes " + channels + " channels) but received " + received +
            ", a batch of one-channel images; pass [N, " + channels + ", H, W]");
  }
  const at::Tensor x = images.dim() == 3 ? images.unsqueeze(1) : images;
  if (x.size(1) != inChannels) {
    invalid("expected " + expected + " (this network takes " + channels + " channel" + (inChannels == 1 ? "" : "s") +
            ") but received " + received + " with " + std::to_string(x.size(1)) + "; convert the images to " + channels +
            " channel" + (inChannels == 1 ? "" : "s") + " first");
  }
  if (x.size(0) == 0 || x.size(2) == 0 || x.size(3) == 0) {
    invalid("expected at least one image of at least 1×1 pixels but received " + received + "; skip the call when there is nothing to embed");
  }
  const at::ScalarType type = x.scalar_type();
  if (type != at::kByte && type != at::kFloat && type != at::kDouble) {
    invalid("expected uint8 images (0..255) or float32/float64 images (0..1) but received " + typeName(type));
  }
  if (type != at::kByte) {
    const at::Tensor bad = at::logical_not(at::isfinite(x)).reshape({x.size(0), -1}).any(1);
    if (bad.any().item<bool>()) {
      const int64_t first = bad.nonzero().select(1, 0)[0].item<int64_t>();
      throw Error(ErrorCode::kNonFinite, "image " + std::to_string(first) + " of " + std::to_string(x.size(0)) +
                                             " holds NaN or infinite values; expected finite values (0..1 for float images): "
                                             "replace or leave out that image");
    }
  }
  return x;
}

Encoder::Encoder(const std::string& checkpoint, const std::string& device, int64_t threads)
    : device_(resolveDevice(device)), threads_(threads) {
  thread_.call([&] {
    makeCurrentDevice(device_);  // cuda:N, not GPU 0, for the encoder's thread
    const BackboneWeights file = readBackboneWeights(checkpoint);
    model_ = loadNetwork(file, checkpoint);
    model_->to(device_);
    hasHead_ = file.hasHead;
    kind_ = file.kind;
  });
}

Features Encoder::embed(const at::Tensor& images, FeatureOptions options, const EvalProgressFn& progress, const std::atomic<bool>* cancel) {
  const at::Tensor checked = checkedImages(images, model_->options().inChannels);
  options.embedding = options.embedding && hasHead_;
  Features features;
  thread_.call([&] {
    if (device_.is_cpu()) useIntraOpThreads(threads_);
    features = extractFeatures(*model_, checked, device_, options, progress, cancel);
  });
  return features;
}

}  // namespace imlm::eval
