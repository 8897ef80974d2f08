// The offline benchmark's composites on a synthetic source whose every pixel tells where it came
// from: item (label) and set (training 0..9, test 100..109).
#include "core/tasks/few_shot/pair_composites.h"

#include <set>

#include "../../support.h"

namespace bilevel::core {
namespace {

// 30 images per item, 2 x 3 pixels each, all of value label + offset.
LabeledImages source(int64_t offset) {
  const torch::Tensor labels = torch::arange(10, torch::kInt64).repeat(30);
  const torch::Tensor images = (labels + offset).to(torch::kUInt8).view({-1, 1, 1}).expand({-1, 2, 3}).contiguous();
  return {images, labels};
}

std::set<std::string> namesOf(const ClassImages& split) { return {split.names.begin(), split.names.end()}; }

TEST(PairCompositesTest, SplitsOfTheHundredPairClassesWithItemsLeftAndRight) {
  const EpisodicSplits splits = pairComposites(source(0), source(100), 7, 3);
  EXPECT_EQ(splits.train.classes(), 64);
  EXPECT_EQ(splits.validation.classes(), 16);
  EXPECT_EQ(splits.test.classes(), 20);
  std::set<std::string> all;
  for (const ClassImages* split : {&splits.train, &splits.validation, &splits.test}) {
    const std::set<std::string> names = namesOf(*split);
    EXPECT_EQ(names.size(), static_cast<size_t>(split->classes()));  // no class twice in a split
    all.insert(names.begin(), names.end());
  }
  EXPECT_EQ(all.size(), 100u);  // disjoint splits covering "00".."99"
  for (const auto& [split, offset] : {std::pair{&splits.train, 0}, {&splits.validation, 0}, {&splits.test, 100}}) {
    for (int64_t c = 0; c < split->classes(); ++c) {
      const torch::Tensor& images = split->images[c];
      ASSERT_EQ(images.sizes(), (std::vector<int64_t>{7, 1, 2, 6}));
      ASSERT_EQ(images.scalar_type(), torch::kUInt8);
      const int left = split->names[c][0] - '0', right = split->names[c][1] - '0';
      EXPECT_TRUE(images.slice(3, 0, 3).eq(left + offset).all().item<bool>()) << split->names[c];
      EXPECT_TRUE(images.slice(3, 3, 6).eq(right + offset).all().item<bool>()) << split->names[c];
    }
  }
}

TEST(PairCompositesTest, DeterministicFromTheSeed) {
  const EpisodicSplits a = pairComposites(source(0), source(100), 5, 11), b = pairComposites(source(0), source(100), 5, 11);
  EXPECT_EQ(a.test.names, b.test.names);
  for (int64_t c = 0; c < a.train.classes(); ++c) EXPECT_TRUE(a.train.images[c].equal(b.train.images[c]));
  EXPECT_NE(pairComposites(source(0), source(100), 5, 12).test.names, a.test.names);
}

TEST(PairCompositesTest, RefusesSourcesItCannotCompose) {
  LabeledImages noNines = source(0);
  noNines.labels = noNines.labels.clamp_max(8);
  EXPECT_TRUE(test::refused([&] { pairComposites(noNines, source(100), 5, 0); }, "INVALID_ARGUMENT", "no image of label 9"));
  LabeledImages color{torch::zeros({10, 3, 2, 2}, torch::kUInt8), torch::arange(10, torch::kInt64)};
  EXPECT_TRUE(test::refused([&] { pairComposites(color, source(100), 5, 0); }, "SHAPE_MISMATCH", "[N, H, W]"));
  EXPECT_TRUE(test::refused([&] { pairComposites(source(0), source(100), 0, 0); }, "INVALID_ARGUMENT", "imagesPerClass"));
}

}  // namespace
}  // namespace bilevel::core
