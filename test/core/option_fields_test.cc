// checkDeclared: options built in C++ (not through the reader) are held to their declarations,
// ranges and choices alike, with the field named as owner.field.
#include <gtest/gtest.h>

#include "core/dynamics.h"
#include "core/tasks/hyper_cleaning/hyper_cleaning.h"

namespace bilevel::core {
namespace {

template <typename Body>
std::string refusal(Body body) {
  try {
    body();
  } catch (const Error& e) {
    EXPECT_EQ(e.code, "INVALID_ARGUMENT");
    return e.what();
  }
  return "accepted";
}

TEST(CheckDeclaredTest, DefaultsPassAndEachViolationNamesItsField) {
  const OptionFields<HyperCleaningOptions>& fields = hyperCleaningFields();
  HyperCleaningOptions options;
  EXPECT_EQ(refusal([&] { checkDeclared(fields, options, "hyperCleaning"); }), "accepted");

  HyperCleaningOptions badModel;
  badModel.model = "cnn";
  EXPECT_EQ(refusal([&] { checkDeclared(fields, badModel, "hyperCleaning"); }),
            "hyperCleaning.model must be one of linear, mlp; got 'cnn'");
  HyperCleaningOptions badSize;
  badSize.trainSize = 0;
  EXPECT_EQ(refusal([&] { checkDeclared(fields, badSize, "hyperCleaning"); }),
            "hyperCleaning.trainSize must be an integer in [1, 1e+06]; got 0");
  HyperCleaningOptions badShare;
  badShare.corruption = 1.5;
  EXPECT_EQ(refusal([&] { checkDeclared(fields, badShare, "hyperCleaning"); }),
            "hyperCleaning.corruption must be a number in [0, 1]; got 1.5");
  // The task's factory checks before it reads any file.
  EXPECT_EQ(refusal([&] { makeHyperCleaningProblem(badModel); }), "hyperCleaning.model must be one of linear, mlp; got 'cnn'");
}

TEST(CheckDeclaredTest, AxisMembersAreNamedAxisOfMember) {
  DynamicsOptions options;
  options.kind = DynamicsOptions::Kind::Bda;
  options.mu = 1;
  EXPECT_EQ(refusal([&] { checkDeclaredRanges(declaredMember(dynamicsMembers(), options.kind), options, "dynamics"); }),
            "dynamics(bda).mu must be a number in [0, 1); got 1");
}

}  // namespace
}  // namespace bilevel::core
