#pragma once
// A Kineto trace (CPU operators and CUDA kernels, Chrome trace format) of one stretch of work,
// for finding where a step's time goes on a GPU. Off unless the environment variable
// IMLM_PROFILE_TRACE names a file prefix; then each traced stretch writes <prefix>.<n>.json.
// A diagnostic for developers (scripts/gpu-profile.sh): a trace costs time and disk.
#include <string>

namespace imlm::train {

class ProfileTrace {
 public:
  ProfileTrace();
  ~ProfileTrace();
  ProfileTrace(const ProfileTrace&) = delete;
  ProfileTrace& operator=(const ProfileTrace&) = delete;

 private:
  std::string path_;  // empty: not tracing
};

}  // namespace imlm::train
