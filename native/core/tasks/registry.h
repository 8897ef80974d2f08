// The task registry: every built-in task by its config name ("toy/nonconvex", "hyper-cleaning",
// ...), with its options declared once (core/option_fields.h) and its factory. The binding's one
// createTask reads options through these declarations and builds off the JS thread; the
// declarations also answer describeOptions(), which a test ties to the TypeScript schemas. A new
// task is a folder under core/tasks plus one line in registry.cc.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/option_reader.h"
#include "core/problem.h"

namespace bilevel::core {

// Where a task's tensors live; a task states its own default dtype.
struct Placement {
  std::optional<torch::Dtype> dtype;  // none: the task's default
  torch::Device device = torch::kCPU;
};

// Builds the problem: possibly slow (datasets are read here), so it may run on any thread.
using TaskBuild = std::function<std::shared_ptr<Problem>()>;

struct Task {
  std::string name;
  std::vector<FieldDescription> options;
  torch::Dtype defaultDtype;
  // Reads and checks the options now, on the caller's thread; what it returns builds the problem.
  std::function<TaskBuild(const OptionSource&, const Placement&)> prepare;
  // The settings its metrics() takes (core/problem.h); none for most tasks.
  std::vector<FieldDescription> metricSettings = {};
};

// A task whose options struct Options has the declared fields and `dtype` / `device` members:
// the fields are read over a copy of `base` (its defaults), then the placement is applied.
template <typename Options>
Task declareTask(std::string name, OptionFields<Options> fields, torch::Dtype defaultDtype,
                 std::shared_ptr<Problem> (*make)(const Options&), Options base = {}) {
  Task task{std::move(name), describe(fields), defaultDtype, nullptr};
  task.prepare = [owner = task.name, fields = std::move(fields), defaultDtype, make, base](const OptionSource& source,
                                                                                         const Placement& placement) {
    Options options = base;
    readDeclared(source, fields, options, owner);
    options.dtype = placement.dtype.value_or(defaultDtype);
    options.device = placement.device;
    return TaskBuild([make, options] { return make(options); });
  };
  return task;
}

const std::vector<Task>& taskRegistry();
// The task of that name; INVALID_ARGUMENT listing the names there are.
const Task& findTask(const std::string& name);

}  // namespace bilevel::core
