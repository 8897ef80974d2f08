#include "core/tasks/registry.h"

#include "core/hyper_cleaning.h"

namespace bilevel::core {

const std::vector<Task>& taskRegistry() {
  static const std::vector<Task> tasks = {
      declareTask("toy/convex", toyFields(20, false), torch::kFloat64, makeToyProblem, ToyOptions{"convex"}),
      declareTask("toy/singleton", toyFields(20, false), torch::kFloat64, makeToyProblem, ToyOptions{"singleton"}),
      declareTask("toy/nonconvex", toyFields(1, true), torch::kFloat64, makeToyProblem, ToyOptions{"nonconvex"}),
      declareTask("toy/bamm-convex", toyFields(100, false), torch::kFloat64, makeToyProblem, ToyOptions{"bammConvex"}),
      declareTask("hyper-cleaning", hyperCleaningFields(), torch::kFloat32, makeHyperCleaningProblem),
  };
  return tasks;
}

const Task& findTask(const std::string& name) {
  std::string names;
  for (const Task& task : taskRegistry()) {
    if (task.name == name) return task;
    names += (names.empty() ? "" : ", ") + task.name;
  }
  throw Error("INVALID_ARGUMENT", "no task named '" + name + "' (there are: " + names + ")");
}

}  // namespace bilevel::core
