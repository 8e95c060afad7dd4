#include "core/analysis/cka.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>

#include "core/analysis/sampling.h"
#include "core/analysis/summary.h"
#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::analysis {
namespace {

/**
 * The kernels are matrix products: use every core. Intra-op threads are per calling thread in
 * OpenMP builds and this runs on a libuv worker (the trainer does the same per run).
 */
void useAllCores() { at::set_num_threads(static_cast<int>(std::max<unsigned>(1, std::thread::hardware_concurrency()))); }

at::Tensor asFloat64Rows(const at::Tensor& t, const char* name) {
  if (t.dim() != 2) throw Error(ErrorCode::kInvalidArgument, std::string("expected ") + name + " as [n, d] but received " + shapeString(t.sizes()));
  at::Tensor d = t.to(at::kDouble).contiguous();
  if (!d.isfinite().all().item<bool>()) throw Error(ErrorCode::kNonFinite, std::string(name) + " holds NaN or infinite values");
  return d;
}

/** H K H without forming H: subtract row and column means, add back the grand mean. */
at::Tensor centered(const at::Tensor& k) {
  return k - k.mean(/*dim=*/0, /*keepdim=*/true) - k.mean(/*dim=*/1, /*keepdim=*/true) + k.mean();
}

/** The RBF kernel of x's rows; writes the σ it used. */
at::Tensor rbfKernel(const at::Tensor& x, const KernelOptions& options, double& sigmaUsed) {
  at::Tensor g = at::mm(x, x.t());
  at::Tensor spread = g.diagonal().unsqueeze(1) - g;  // diag(G) − G
  at::Tensor d2 = spread + spread.t();                // D²ᵢⱼ = Gᵢᵢ + Gⱼⱼ − 2Gᵢⱼ, exactly as CKA.py forms it
  if (options.sigma) {
    sigmaUsed = *options.sigma;
  } else {
    at::Tensor nonZero = d2.masked_select(d2 != 0).to(at::kCPU).contiguous();  // read on the host
    if (nonZero.numel() == 0) {
      throw Error(ErrorCode::kInvalidArgument, "all rows are identical: the median distance is 0, so the RBF kernel's σ is undefined; pass an absolute sigma");
    }
    const double* v = nonZero.data_ptr<double>();
    sigmaUsed = options.sigmaMedianFraction * std::sqrt(median(std::vector<double>(v, v + nonZero.numel())));
  }
  return at::exp(d2 * (-0.5 / (sigmaUsed * sigmaUsed)));
}

double ratio(double cross, double selfX, double selfY) {
  const double denominator = std::sqrt(selfX * selfY);
  if (!(denominator > 0)) {
    throw Error(ErrorCode::kInvalidArgument, "CKA is undefined: a representation is constant over these rows (its centered kernel is zero)");
  }
  return cross / denominator;
}

CkaValue ckaOnRows(const at::Tensor& x, const at::Tensor& y, const KernelOptions& options) {
  const double n = static_cast<double>(x.size(0));
  const double dx = static_cast<double>(x.size(1)), dy = static_cast<double>(y.size(1));
  CkaValue out;
  if (options.kernel == Kernel::kLinear) {
    // Σ (HXXᵀH)∘(HYYᵀH) = ‖X̃ᵀỸ‖²_F with X̃, Ỹ column-centered: the same number, computed in
    // whichever space is smaller.
    if (n * n * (dx + dy) <= n * (dx * dy + dx * dx + dy * dy)) {
      at::Tensor k = centered(at::mm(x, x.t()));
      at::Tensor l = centered(at::mm(y, y.t()));
      out.cka = ratio((k * l).sum().item<double>(), (k * k).sum().item<double>(), (l * l).sum().item<double>());
    } else {
      at::Tensor xc = x - x.mean(/*dim=*/0, /*keepdim=*/true);
      at::Tensor yc = y - y.mean(/*dim=*/0, /*keepdim=*/true);
      out.cka = ratio(at::mm(xc.t(), yc).pow(2).sum().item<double>(), at::mm(xc.t(), xc).pow(2).sum().item<double>(),
                      at::mm(yc.t(), yc).pow(2).sum().item<double>());
    }
    return out;
  }
  double sigmaX = 0, sigmaY = 0;
  at::Tensor k = centered(rbfKernel(x, options, sigmaX));
  at::Tensor l = centered(rbfKernel(y, options, sigmaY));
  out.cka = ratio((k * l).sum().item<double>(), (k * k).sum().item<double>(), (l * l).sum().item<double>());
  out.sigmaX = sigmaX;
  out.sigmaY = sigmaY;
  return out;
}

void checkPair(const at::Tensor& x, const at::Tensor& y, const KernelOptions& options) {
  if (x.size(0) != y.size(0)) {
    throw Error(ErrorCode::kInvalidArgument, "CKA compares two representations of the same rows, but they have " + std::to_string(x.size(0)) + " and " +
                                                 std::to_string(y.size(0)) + " rows");
  }
  if (x.size(0) < 2) throw Error(ErrorCode::kInvalidArgument, "CKA needs at least 2 rows but received " + std::to_string(x.size(0)));
  if (options.sigma && !(*options.sigma > 0 && std::isfinite(*options.sigma))) {
    throw Error(ErrorCode::kInvalidArgument, "expected sigma > 0 but received " + std::to_string(*options.sigma));
  }
  if (!(options.sigmaMedianFraction > 0 && std::isfinite(options.sigmaMedianFraction))) {
    throw Error(ErrorCode::kInvalidArgument, "expected a sigma median fraction > 0 but received " + std::to_string(options.sigmaMedianFraction));
  }
}

}  // namespace

std::optional<Kernel> kernelFromName(std::string_view name) {
  if (name == "linear") return Kernel::kLinear;
  if (name == "rbf") return Kernel::kRbf;
  return std::nullopt;
}

const char* kernelName(Kernel kernel) { return kernel == Kernel::kLinear ? "linear" : "rbf"; }

CkaValue cka(const at::Tensor& x, const at::Tensor& y, const KernelOptions& options) {
  useAllCores();
  at::Tensor xd = asFloat64Rows(x, "representation x");
  at::Tensor yd = asFloat64Rows(y, "representation y");
  checkPair(xd, yd, options);
  return ckaOnRows(xd, yd, options);
}

CkaBootstrap ckaBootstrap(const at::Tensor& x, const at::Tensor& y, const KernelOptions& options, int64_t sets, int64_t setSize, uint64_t seed) {
  useAllCores();
  at::Tensor xd = asFloat64Rows(x, "representation x");
  at::Tensor yd = asFloat64Rows(y, "representation y");
  checkPair(xd, yd, options);
  const int64_t n = xd.size(0);
  if (sets < 1) throw Error(ErrorCode::kInvalidArgument, "expected at least 1 bootstrap set but received " + std::to_string(sets));
  if (setSize < 2) throw Error(ErrorCode::kInvalidArgument, "expected a bootstrap set size ≥ 2 but received " + std::to_string(setSize));
  if (setSize > n) {
    throw Error(ErrorCode::kInvalidArgument, "there are fewer samples (" + std::to_string(n) + ") than one bootstrap set (" + std::to_string(setSize) +
                                                 ", drawn without replacement); lower the set size to at most " + std::to_string(n));
  }
  CkaBootstrap out;
  out.sets = sets;
  out.setSize = setSize;
  out.seed = seed;
  SampleRng rng(seed);
  for (int64_t s = 0; s < sets; ++s) {
    const std::vector<int64_t> rows = rng.subsetWithoutReplacement(n, setSize);
    at::Tensor index = at::tensor(at::ArrayRef<int64_t>(rows), at::TensorOptions().dtype(at::kLong)).to(xd.device());
    out.values.push_back(ckaOnRows(xd.index_select(0, index), yd.index_select(0, index), options).cka);
  }
  const MeanStd ms = meanAndStd(out.values);
  out.mean = ms.mean;
  out.std = ms.std;
  return out;
}

}  // namespace imlm::analysis
