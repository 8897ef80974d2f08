#include "core/tasks/registry.h"

#include "core/tasks/hyper_cleaning/hyper_cleaning.h"
#include "core/tasks/few_shot/few_shot_task.h"
#include "core/tasks/gan/gan_task.h"
#include "core/tasks/nas/nas_task.h"
#include "core/tasks/nas/retrain_task.h"
#include "core/tasks/toy/toy_problems.h"

namespace bilevel::core {
namespace {

Task withMetricSettings(Task task, std::vector<FieldDescription> settings) {
  task.metricSettings = std::move(settings);
  return task;
}

}  // namespace

const std::vector<Task>& taskRegistry() {
  static const std::vector<Task> tasks = {
      declareTask("toy/convex", toyFields(20, false), torch::kFloat64, makeToyProblem, ToyOptions{"convex"}),
      declareTask("toy/singleton", toyFields(20, false), torch::kFloat64, makeToyProblem, ToyOptions{"singleton"}),
      declareTask("toy/nonconvex", toyFields(1, true), torch::kFloat64, makeToyProblem, ToyOptions{"nonconvex"}),
      declareTask("toy/bamm-convex", toyFields(100, false), torch::kFloat64, makeToyProblem, ToyOptions{"bammConvex"}),
      declareTask("hyper-cleaning", hyperCleaningFields(), torch::kFloat32, makeHyperCleaningProblem),
      declareTask("gan", ganFields(), torch::kFloat32, makeGanProblem),
      withMetricSettings(declareTask("few-shot", fewShotFields(), torch::kFloat32, makeFewShotProblem),
                         describe(fewShotEvaluationFields())),
      declareTask("nas", nasFields(), torch::kFloat32, makeNasProblem),
      declareTask("nas-retrain", nasRetrainFields(), torch::kFloat32, makeNasRetrainProblem),
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
