#include "core/task.h"

#include <string>

#include "core/errors.h"

namespace imlm {

std::optional<Task> taskFromName(std::string_view name) {
  if (name == "multiclass") return Task::kMulticlass;
  if (name == "binary") return Task::kBinary;
  if (name == "multilabel") return Task::kMultilabel;
  return std::nullopt;
}

Task requireTask(std::string_view name) {
  const std::optional<Task> task = taskFromName(name);
  if (!task) {
    throw Error(ErrorCode::kInvalidArgument, "expected task 'multiclass', 'binary' or 'multilabel' but received '" + std::string(name) + "'");
  }
  return *task;
}

const char* taskName(Task task) {
  switch (task) {
    case Task::kMulticlass: return "multiclass";
    case Task::kBinary: return "binary";
    case Task::kMultilabel: return "multilabel";
  }
  return "multiclass";
}

}  // namespace imlm
