// DARTS's training augmentation (core/tasks/nas/augmentation.h) checked image by image: the crop is
// a window of the zero-padded image, the flip mirrors or not, the cutout zeroes one square of the
// stated side clipped at the border; the draws come from the generator alone.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "core/tasks/nas/augmentation.h"

namespace bilevel::core {
namespace {

namespace F = torch::nn::functional;

torch::Tensor images() { return torch::arange(4 * 2 * 8 * 8, torch::kFloat64).reshape({4, 2, 8, 8}) + 1; }

at::Generator seeded(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

TEST(AugmentationTest, NothingAskedLeavesTheImages) {
  at::Generator gen = seeded(1);
  EXPECT_TRUE(torch::equal(augmented(images(), {0, false, 0}, gen, {}), images()));
}

TEST(AugmentationTest, EachCropIsAWindowOfThePaddedImage) {
  at::Generator gen = seeded(2);
  const torch::Tensor out = augmented(images(), {2, false, 0}, gen, {});
  const torch::Tensor padded = F::pad(images(), F::PadFuncOptions({2, 2, 2, 2}));
  for (int64_t i = 0; i < 4; ++i) {
    int matches = 0;
    for (int64_t dy = 0; dy <= 4; ++dy) {
      for (int64_t dx = 0; dx <= 4; ++dx) matches += torch::equal(out[i], padded[i].slice(1, dy, dy + 8).slice(2, dx, dx + 8));
    }
    EXPECT_EQ(matches, 1) << "image " << i;
  }
}

TEST(AugmentationTest, EachFlipMirrorsTheImageOrLeavesItAndBothHappen) {
  at::Generator gen = seeded(3);
  const torch::Tensor input = torch::arange(64 * 8, torch::kFloat64).reshape({64, 1, 1, 8});
  const torch::Tensor out = augmented(input, {0, true, 0}, gen, {});
  int flipped = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const bool same = torch::equal(out[i], input[i]), mirrored = torch::equal(out[i], input[i].flip(2));
    EXPECT_TRUE(same != mirrored) << "image " << i;
    flipped += mirrored;
  }
  EXPECT_GT(flipped, 16);
  EXPECT_LT(flipped, 48);
}

TEST(AugmentationTest, CutoutZeroesOneClippedSquareOfTheSide) {
  at::Generator gen = seeded(4);
  const int64_t side = 4, size = 8;
  const torch::Tensor out = augmented(torch::ones({32, 2, size, size}, torch::kFloat64), {0, false, side}, gen, {});
  for (int64_t i = 0; i < 32; ++i) {
    EXPECT_TRUE(torch::equal(out[i][0], out[i][1])) << "every channel alike";
    const torch::Tensor zero = out[i][0].eq(0);
    const torch::Tensor rows = zero.any(1).nonzero().flatten(), columns = zero.any(0).nonzero().flatten();
    const int64_t height = rows.numel(), width = columns.numel();
    // A rectangle: as many zeros as its rows times its columns, contiguous, of side/2 .. side.
    EXPECT_EQ(zero.sum().item<int64_t>(), height * width);
    EXPECT_EQ(rows[-1].item<int64_t>() - rows[0].item<int64_t>() + 1, height);
    EXPECT_GE(height, side / 2);
    EXPECT_LE(height, side);
    EXPECT_GE(width, side / 2);
    EXPECT_LE(width, side);
    // Clipped only at the border: a smaller side touches it.
    if (height < side) EXPECT_TRUE(rows[0].item<int64_t>() == 0 || rows[-1].item<int64_t>() == size - 1);
  }
}

TEST(AugmentationTest, TheSameGeneratorStateGivesTheSameBatch) {
  // DARTS's settings on 32 x 32 images (a 16-pixel cutout would blank an 8 x 8 one).
  const torch::Tensor large = torch::rand({4, 3, 32, 32}, torch::kFloat64);
  at::Generator a = seeded(5), b = seeded(5), c = seeded(6);
  EXPECT_TRUE(torch::equal(augmented(large, {}, a, {}), augmented(large, {}, b, {})));
  EXPECT_FALSE(torch::equal(augmented(large, {}, a, {}), augmented(large, {}, c, {})));
}

TEST(AugmentationTest, ABatchSplitIntoSharesIsAugmentedAsTheWholeBatch) {
  // Each rank of a process group augments its rows from the same seed: the draws must be the whole
  // batch's, not a fresh set per rank (which would also give rank 1's rows rank 0's crops and flips).
  const torch::Tensor whole = torch::rand({6, 3, 32, 32}, torch::kFloat64);
  at::Generator all = seeded(7);
  const torch::Tensor expected = augmented(whole, {}, all, {});
  for (int64_t index = 0; index < 3; ++index) {
    at::Generator own = seeded(7);
    const torch::Tensor share = augmented(whole.narrow(0, 2 * index, 2), {}, own, RowShare{index, 3});
    EXPECT_TRUE(torch::equal(share, expected.narrow(0, 2 * index, 2))) << "share " << index;
  }
}

}  // namespace
}  // namespace bilevel::core
