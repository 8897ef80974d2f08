// UnrollScope: an id per unroll, 0 outside, nested scopes restore the outer one, one per thread.
#include "core/unroll_scope.h"

#include <gtest/gtest.h>

#include <thread>

namespace bilevel::core {
namespace {

TEST(UnrollScopeTest, FreshIdsNestedAndPerThread) {
  EXPECT_EQ(UnrollScope::current(), 0u);
  uint64_t outer = 0;
  {
    const UnrollScope first;
    outer = UnrollScope::current();
    EXPECT_NE(outer, 0u);
    {
      const UnrollScope inner;
      EXPECT_NE(UnrollScope::current(), outer);
      uint64_t elsewhere = 1;
      std::thread([&] { elsewhere = UnrollScope::current(); }).join();
      EXPECT_EQ(elsewhere, 0u);  // another thread is in no unroll
    }
    EXPECT_EQ(UnrollScope::current(), outer);
  }
  EXPECT_EQ(UnrollScope::current(), 0u);
  const UnrollScope again;
  EXPECT_NE(UnrollScope::current(), outer);  // never an earlier unroll's id
}

}  // namespace
}  // namespace bilevel::core
