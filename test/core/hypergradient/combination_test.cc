// checkCombination (docs/algorithms.md §5.8): which combinations of hypergradient, dynamics,
// initAuxiliary and pessimistic truncation are refused, as the members' declared capabilities
// imply, with the reasons; and the declared ranges of the hypergradients' own fields.
#include <cmath>
#include <set>

#include "../support.h"
#include "core/hypergradient.h"

namespace bilevel::core {
namespace {

using Kind = HypergradientOptions::Kind;
using DynamicsKind = DynamicsOptions::Kind;

HypergradientOptions method(Kind kind) {
  HypergradientOptions options;
  options.kind = kind;
  options.truncate = 3;
  return options;
}

DynamicsOptions dynamics(DynamicsKind kind, int64_t steps = 3) {
  DynamicsOptions options;
  options.kind = kind;
  options.steps = steps;
  return options;
}

bool accepted(Kind kind, DynamicsKind dynamicsKind, bool initAuxiliary, Truncation truncation) {
  try {
    checkCombination(method(kind), dynamics(dynamicsKind), initAuxiliary, truncation);
    return true;
  } catch (const Error&) {
    return false;
  }
}

const Kind kAllMethods[] = {Kind::Reverse, Kind::Truncated, Kind::Forward, Kind::ConjugateGradient,
                            Kind::Neumann, Kind::FiniteDifference, Kind::FirstOrder};
const DynamicsKind kAllDynamics[] = {DynamicsKind::Gd, DynamicsKind::Bda, DynamicsKind::Nesterov, DynamicsKind::Accelerated};

// The table of §5.8, written out: T = K = 3 for truncated.
TEST(CombinationTest, RefusesExactlyTheCombinationsTheReferenceLists) {
  const std::set<Kind> pessimistic = {Kind::Reverse, Kind::Forward};
  const std::set<Kind> initAuxiliary = {Kind::Reverse, Kind::Truncated, Kind::Forward};
  for (const Kind kind : kAllMethods) {
    for (const DynamicsKind dynamicsKind : kAllDynamics) {
      const bool dynamicsFit = kind != Kind::FiniteDifference || dynamicsKind == DynamicsKind::Gd;
      for (const bool ia : {false, true}) {
        for (const Truncation truncation : {Truncation::None, Truncation::Pessimistic, Truncation::PessimisticRecompute}) {
          const bool expected = dynamicsFit && (!ia || initAuxiliary.count(kind) > 0) &&
                                (truncation == Truncation::None || pessimistic.count(kind) > 0);
          EXPECT_EQ(accepted(kind, dynamicsKind, ia, truncation), expected)
              << memberName(hypergradientMembers(), kind) << " with " << memberName(dynamicsMembers(), dynamicsKind)
              << (ia ? ", IA" : "") << (truncation != Truncation::None ? ", PTT" : "");
        }
      }
    }
  }
}

TEST(CombinationTest, ReasonsNameTheMembersThatWouldServe) {
  const DynamicsOptions gd = dynamics(DynamicsKind::Gd);
  EXPECT_TRUE(test::refused([&] { checkCombination(method(Kind::ConjugateGradient), gd, false, Truncation::Pessimistic); }, "INVALID_ARGUMENT",
                            "pessimisticTruncation differentiates the trajectory up to Kbar, so it needs the reverse or forward hypergradient, not cg"));
  EXPECT_TRUE(test::refused([&] { checkCombination(method(Kind::Truncated), gd, false, Truncation::PessimisticRecompute); }, "INVALID_ARGUMENT",
                            "needs the reverse or forward hypergradient, not truncated"));
  EXPECT_TRUE(test::refused([&] { checkCombination(method(Kind::Neumann), gd, true, Truncation::None); }, "INVALID_ARGUMENT",
                            "neumann does not differentiate w.r.t. y_0 (z would never move): use reverse, truncated or forward"));
  EXPECT_TRUE(test::refused([&] { checkCombination(method(Kind::FiniteDifference), dynamics(DynamicsKind::Nesterov), false, Truncation::None); },
                            "INVALID_ARGUMENT", "finiteDifference takes the last LL step to be a gradient step; it needs gd or heavyBall dynamics"));
}

TEST(CombinationTest, TruncatedDifferentiatesBetweenOneAndAllSteps) {
  HypergradientOptions truncated = method(Kind::Truncated);
  truncated.truncate = 6;
  EXPECT_TRUE(test::refused([&] { checkCombination(truncated, dynamics(DynamicsKind::Gd, 5), false, Truncation::None); }, "INVALID_ARGUMENT",
                            "hypergradient.truncate must be in [1, dynamics.steps = 5], got 6"));
  truncated.truncate = 0;
  EXPECT_TRUE(test::refused([&] { checkCombination(truncated, dynamics(DynamicsKind::Gd, 5), false, Truncation::None); }, "INVALID_ARGUMENT",
                            "got 0"));
  truncated.truncate = 2;
  EXPECT_NO_THROW(checkCombination(truncated, dynamics(DynamicsKind::Gd, 5), false, Truncation::None));
  EXPECT_TRUE(test::refused([&] { checkCombination(truncated, dynamics(DynamicsKind::Gd, 5), true, Truncation::None); }, "INVALID_ARGUMENT",
                            "initAuxiliary with truncated(2) < dynamics.steps detaches y_0 = z"));
  truncated.truncate = 5;
  EXPECT_NO_THROW(checkCombination(truncated, dynamics(DynamicsKind::Gd, 5), true, Truncation::None));
}

TEST(CombinationTest, FieldsOutsideTheirDeclaredRangesAreRefused) {
  const DynamicsOptions gd = dynamics(DynamicsKind::Gd);
  HypergradientOptions cg = method(Kind::ConjugateGradient);
  cg.iterations = 0;
  EXPECT_TRUE(test::refused([&] { checkCombination(cg, gd, false, Truncation::None); }, "INVALID_ARGUMENT",
                            "hypergradient(cg).iterations must be an integer in [1, 100000]; got 0"));
  cg = method(Kind::ConjugateGradient);
  cg.damping = -0.5;
  EXPECT_TRUE(test::refused([&] { checkCombination(cg, gd, false, Truncation::None); }, "INVALID_ARGUMENT",
                            "hypergradient(cg).damping must be a number >= 0; got -0.5"));
  HypergradientOptions neumann = method(Kind::Neumann);
  neumann.alpha = 0;
  EXPECT_TRUE(test::refused([&] { checkCombination(neumann, gd, false, Truncation::None); }, "INVALID_ARGUMENT",
                            "hypergradient(neumann).alpha must be a number > 0; got 0"));
  HypergradientOptions finiteDifference = method(Kind::FiniteDifference);
  finiteDifference.radius = NAN;
  EXPECT_TRUE(test::refused([&] { checkCombination(finiteDifference, gd, false, Truncation::None); }, "INVALID_ARGUMENT",
                            "hypergradient(finiteDifference).radius must be a number > 0; got nan"));
  // A field of another member is not this member's: reverse ignores cg's iterations.
  HypergradientOptions reverse = method(Kind::Reverse);
  reverse.iterations = 0;
  EXPECT_NO_THROW(checkCombination(reverse, gd, false, Truncation::None));
}

TEST(CombinationTest, MemberNamesListsTheMembersWithACapability) {
  EXPECT_EQ(memberNames(dynamicsMembers(), [](const DynamicsCapabilities& c) { return c.gradientStep; }), "gd or heavyBall");
  EXPECT_EQ(memberNames(dynamicsMembers(), [](const DynamicsCapabilities&) { return true; }), "gd, bda, nesterov, accelerated or heavyBall");
  EXPECT_EQ(memberNames(dynamicsMembers(), [](const DynamicsCapabilities&) { return false; }), "");
}

}  // namespace
}  // namespace bilevel::core
