#include "core/inspect/image_rows.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::inspect {

at::Tensor toRgbBytes(const at::Tensor& images) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3)) {
    throw Error(ErrorCode::kInvalidArgument, "expected images [N, 1 or 3, H, W] but received " + shapeString(images.sizes()));
  }
  at::Tensor bytes = images.scalar_type() == at::kByte
                         ? images.to(c10::Device(c10::kCPU))
                         : (images.to(c10::Device(c10::kCPU), at::kFloat) * 255.0).round().clamp(0, 255).to(at::kByte);
  if (bytes.size(1) == 1) bytes = bytes.expand({-1, 3, -1, -1});
  return bytes.permute({0, 2, 3, 1}).contiguous();
}

}  // namespace imlm::inspect
