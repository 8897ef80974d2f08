// checkDeclared: options built in C++ (not through the reader) are held to their declarations,
// ranges and choices alike, with the field named as owner.field.
#include <gtest/gtest.h>

#include "core/dynamics.h"
#include "core/tasks/hyper_cleaning/hyper_cleaning.h"
#include "support.h"

namespace bilevel::core {
namespace {

TEST(CheckDeclaredTest, DefaultsPassAndEachViolationNamesItsField) {
  const OptionFields<HyperCleaningOptions>& fields = hyperCleaningFields();
  HyperCleaningOptions options;
  EXPECT_NO_THROW(checkDeclared(fields, options, "hyperCleaning"));

  HyperCleaningOptions badModel;
  badModel.model = "cnn";
  EXPECT_TRUE(test::refused([&] { checkDeclared(fields, badModel, "hyperCleaning"); }, "INVALID_ARGUMENT",
                            "hyperCleaning.model must be one of linear, mlp; got 'cnn'"));
  HyperCleaningOptions badSize;
  badSize.trainSize = 0;
  EXPECT_TRUE(test::refused([&] { checkDeclared(fields, badSize, "hyperCleaning"); }, "INVALID_ARGUMENT",
                            "hyperCleaning.trainSize must be an integer in [1, 1e+06]; got 0"));
  HyperCleaningOptions badShare;
  badShare.corruption = 1.5;
  EXPECT_TRUE(test::refused([&] { checkDeclared(fields, badShare, "hyperCleaning"); }, "INVALID_ARGUMENT",
                            "hyperCleaning.corruption must be a number in [0, 1]; got 1.5"));
  // The task's factory checks before it reads any file.
  EXPECT_TRUE(test::refused([&] { makeHyperCleaningProblem(badModel); }, "INVALID_ARGUMENT",
                            "hyperCleaning.model must be one of linear, mlp; got 'cnn'"));
}

TEST(CheckDeclaredTest, AxisMembersAreNamedAxisOfMember) {
  DynamicsOptions options;
  options.kind = DynamicsOptions::Kind::Bda;
  options.mu = 1;
  EXPECT_TRUE(test::refused([&] { checkDeclaredRanges(declaredMember(dynamicsMembers(), options.kind), options, "dynamics"); },
                            "INVALID_ARGUMENT", "dynamics(bda).mu must be a number in [0, 1); got 1"));
}

}  // namespace
}  // namespace bilevel::core
