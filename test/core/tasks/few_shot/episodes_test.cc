// Episodes on a split whose images carry their identity: pixel 0 is the class, pixel 1 the image's
// index within its class.
#include "core/tasks/few_shot/episodes.h"

#include <set>

#include "../../support.h"

namespace bilevel::core {
namespace {

ClassImages identified(int64_t classes, int64_t perClass) {
  ClassImages split;
  for (int64_t c = 0; c < classes; ++c) {
    split.names.push_back("class" + std::to_string(c));
    const torch::Tensor index = torch::arange(perClass, torch::kInt64);
    const torch::Tensor pixels = torch::stack({torch::full({perClass}, c, torch::kInt64), index}, 1);
    split.images.push_back(pixels.to(torch::kUInt8).view({perClass, 1, 1, 2}));
  }
  return split;
}

TEST(EpisodesTest, ShapesLabelsAndDisjointSupportAndQuery) {
  const ClassImages split = identified(12, 9);
  const EpisodeShape shape{5, 2, 3};
  for (int64_t index = 0; index < 20; ++index) {
    const Episode e = drawEpisode(split, "train", 7, index, shape);
    ASSERT_EQ(e.supportImages.sizes(), (std::vector<int64_t>{10, 1, 1, 2}));
    ASSERT_EQ(e.queryImages.sizes(), (std::vector<int64_t>{15, 1, 1, 2}));
    EXPECT_TRUE(e.supportLabels.equal(torch::tensor({0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, torch::kInt64)));
    EXPECT_TRUE(e.queryLabels.equal(torch::arange(5, torch::kInt64).repeat_interleave(3)));
    EXPECT_EQ(std::set<int64_t>(e.classes.begin(), e.classes.end()).size(), 5u);  // distinct classes
    for (int64_t label = 0; label < 5; ++label) {
      const torch::Tensor support = e.supportImages.slice(0, 2 * label, 2 * label + 2).flatten(1);
      const torch::Tensor query = e.queryImages.slice(0, 3 * label, 3 * label + 3).flatten(1);
      // Every image of a label is of that label's class ...
      EXPECT_TRUE(support.select(1, 0).eq(e.classes[label]).all().item<bool>());
      EXPECT_TRUE(query.select(1, 0).eq(e.classes[label]).all().item<bool>());
      // ... and the five images are five different ones.
      const torch::Tensor ids = torch::cat({support.select(1, 1), query.select(1, 1)});
      EXPECT_EQ(std::get<0>(torch::_unique(ids)).numel(), 5);
    }
  }
}

TEST(EpisodesTest, APureFunctionOfSeedSplitAndIndex) {
  const ClassImages split = identified(12, 9);
  const EpisodeShape shape{5, 1, 2};
  const Episode a = drawEpisode(split, "test", 3, 41, shape);
  drawEpisode(split, "test", 3, 0, shape);  // draws in between change nothing
  const Episode b = drawEpisode(split, "test", 3, 41, shape);
  EXPECT_TRUE(a.supportImages.equal(b.supportImages));
  EXPECT_TRUE(a.queryImages.equal(b.queryImages));
  auto differs = [&](const Episode& other) { return !a.queryImages.equal(other.queryImages); };
  EXPECT_TRUE(differs(drawEpisode(split, "test", 3, 42, shape)));
  EXPECT_TRUE(differs(drawEpisode(split, "train", 3, 41, shape)));
  EXPECT_TRUE(differs(drawEpisode(split, "test", 4, 41, shape)));
}

TEST(EpisodesTest, ShapesTheSplitCannotServeAreRefused) {
  ClassImages split = identified(4, 6);
  split.images[2] = split.images[2].slice(0, 0, 3);
  EXPECT_NO_THROW(checkEpisodeShape(split, "test", {4, 1, 2}));
  EXPECT_TRUE(test::refused([&] { checkEpisodeShape(split, "test", {5, 1, 2}); }, "INVALID_ARGUMENT",
                            "5 ways, but the test split has 4 classes"));
  EXPECT_TRUE(test::refused([&] { checkEpisodeShape(split, "test", {4, 2, 2}); }, "INVALID_ARGUMENT",
                            "test class 'class2' has 3 images, fewer than shots + queries = 4"));
  EXPECT_TRUE(test::refused([&] { checkEpisodeShape(split, "test", {4, 0, 2}); }, "INVALID_ARGUMENT", "must be >= 1"));
}

}  // namespace
}  // namespace bilevel::core
