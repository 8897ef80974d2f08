// The one mapping from a validated solver config (the JSON shape of docs/config) to core options.
#pragma once
#include <napi.h>

#include <variant>

#include "core/solver.h"
#include "core/training_solver.h"

namespace bilevel::binding {

using SolverOptions = std::variant<core::TrajectorySolverOptions, core::BammOptions, core::TrainingOptions>;

// Reads config; errors name the field (e.g. "solver.dynamics.lr").
SolverOptions parseSolverConfig(const Napi::Value& config);

// A box {min?, max?} of numbers or tensors; absent or false: unbounded.
core::Box parseBox(const Napi::Value& value, const std::string& path);

// The declarations the reader walks (core/option_fields.h), as JS: {dynamics: {gd: {steps:
// {integer, default, minimum, ...}}}, hypergradient, optimizer, prior, bamm}, for the test that
// ties them to the TypeScript schemas.
Napi::Object describeOptions(Napi::Env env);

}  // namespace bilevel::binding
