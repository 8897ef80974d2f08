// Each dataset layout of the few-shot task read from files written here: IDX with its label split,
// class folders, Omniglot's layout and miniImageNet's CSV splits, through the image cache.
#include "core/tasks/few_shot/few_shot_data.h"

#include <filesystem>
#include <set>

#include "../../images/image_fixtures.h"

namespace bilevel::core {
namespace {

namespace fs = std::filesystem;
using test::putBigEndian;
using test::refused;
using test::smoothImage;
using test::TemporaryFolder;

// An IDX pair of 30 images per label 0..9, 16 x 16, every pixel label + offset.
void writeIdxSet(const std::string& folder, const std::string& prefix, int offset) {
  std::string images, labels;
  for (const uint32_t word : {0x00000803u, 300u, 16u, 16u}) putBigEndian(images, word, 4);
  for (const uint32_t word : {0x00000801u, 300u}) putBigEndian(labels, word, 4);
  for (int i = 0; i < 300; ++i) {
    images += std::string(256, static_cast<char>(i % 10 + offset));
    labels.push_back(static_cast<char>(i % 10));
  }
  test::writeFile(folder + "/" + prefix + "-images-idx3-ubyte", images);
  test::writeFile(folder + "/" + prefix + "-labels-idx1-ubyte", labels);
}

void writeImages(const std::string& folder, int count, int64_t channels) {
  fs::create_directories(folder);
  for (int i = 0; i < count; ++i) test::writePng(folder + "/" + std::to_string(i) + ".png", smoothImage(channels, 20, 24, i));
}

FewShotOptions optionsFor(const std::string& dataset, const std::string& root) {
  FewShotOptions o;
  o.dataset = dataset;
  o.root = root;
  o.imageSize = 16;
  return o;
}

TEST(FewShotData, IdxSplitsTheTenLabelsFiveAndFiveBySeed) {
  TemporaryFolder folder;
  writeIdxSet(folder.path(""), "train", 0);
  writeIdxSet(folder.path(""), "t10k", 100);
  FewShotOptions o = optionsFor("idx", folder.path(""));
  const FewShotClasses classes = readFewShotClasses(o);
  ASSERT_EQ(classes.train.classes(), 5);
  ASSERT_EQ(classes.test.classes(), 5);
  std::set<std::string> all(classes.train.names.begin(), classes.train.names.end());
  all.insert(classes.test.names.begin(), classes.test.names.end());
  EXPECT_EQ(all.size(), 10u);
  for (const auto& [split, offset] : {std::pair{&classes.train, 0}, {&classes.test, 100}}) {
    for (int64_t c = 0; c < 5; ++c) {
      EXPECT_EQ(split->images[c].sizes(), (std::vector<int64_t>{30, 1, 16, 16}));
      EXPECT_TRUE(split->images[c].eq(std::stoi(split->names[c]) + offset).all().item<bool>()) << split->names[c];
    }
  }
  o.seed = 1;
  const FewShotClasses other = readFewShotClasses(o);
  EXPECT_NE(other.train.names, classes.train.names);
}

TEST(FewShotData, ClassFoldersAreKeptInTheCache) {
  TemporaryFolder folder;
  writeImages(folder.path("data/train/a"), 3, 3);
  writeImages(folder.path("data/train/b"), 4, 1);
  writeImages(folder.path("data/test/c"), 2, 3);
  FewShotOptions o = optionsFor("folders", folder.path("data"));
  o.cacheDir = folder.path("cache");
  const FewShotClasses first = readFewShotClasses(o);
  EXPECT_EQ(first.train.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(first.test.names, (std::vector<std::string>{"c"}));
  EXPECT_EQ(first.train.images[1].sizes(), (std::vector<int64_t>{4, 3, 16, 16}));
  int cached = 0;
  for (const auto& entry : fs::directory_iterator(folder.path("cache"))) cached += entry.path().filename().string().rfind("folders-16px-3c-", 0) == 0;
  EXPECT_EQ(cached, 2);
  const FewShotClasses second = readFewShotClasses(o);
  for (int64_t c = 0; c < 2; ++c) EXPECT_TRUE(torch::equal(second.train.images[c], first.train.images[c]));
  o.cacheDir.clear();
  EXPECT_TRUE(torch::equal(readFewShotClasses(o).test.images[0], first.test.images[0]));
  fs::remove_all(folder.path("data/test"));
  EXPECT_TRUE(refused([&] { readFewShotClasses(o); }, "INVALID_ARGUMENT", folder.path("data/test") + ": no such folder"));
}

TEST(FewShotData, OmniglotBackgroundTrainsAndEvaluationTests) {
  TemporaryFolder folder;
  writeImages(folder.path("omniglot/images_background/Greek/character01"), 2, 1);
  writeImages(folder.path("omniglot/images_background/Greek/character02"), 2, 1);
  writeImages(folder.path("omniglot/images_evaluation/Tengwar/character01"), 2, 1);
  const FewShotClasses classes = readFewShotClasses(optionsFor("omniglot", folder.path("omniglot")));
  EXPECT_EQ(classes.train.names, (std::vector<std::string>{"Greek/character01", "Greek/character02"}));
  EXPECT_EQ(classes.test.names, (std::vector<std::string>{"Tengwar/character01"}));
  EXPECT_EQ(classes.test.images[0].sizes(), (std::vector<int64_t>{2, 1, 16, 16}));
}

TEST(FewShotData, MiniImageNetReadsItsCsvSplits) {
  TemporaryFolder folder;
  writeImages(folder.path("mini/images"), 4, 3);
  test::writeFile(folder.path("mini/train.csv"), "filename,label\n0.png,n01\n1.png,n01\n2.png,n02\n");
  test::writeFile(folder.path("mini/test.csv"), "filename,label\n3.png,n03\n");
  const FewShotClasses classes = readFewShotClasses(optionsFor("mini-imagenet", folder.path("mini")));
  EXPECT_EQ(classes.train.names, (std::vector<std::string>{"n01", "n02"}));
  EXPECT_EQ(classes.test.names, (std::vector<std::string>{"n03"}));
  EXPECT_EQ(classes.train.images[0].sizes(), (std::vector<int64_t>{2, 3, 16, 16}));
  test::writeFile(folder.path("mini/test.csv"), "filename,label\n9.png,n03\n");
  EXPECT_TRUE(refused([&] { readFewShotClasses(optionsFor("mini-imagenet", folder.path("mini"))); }, "INVALID_ARGUMENT",
                      "test.csv:2: " + folder.path("mini/images") + "/9.png: no such file"));
}

}  // namespace
}  // namespace bilevel::core
