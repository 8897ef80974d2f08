#include "core/images/image_cache.h"

#include <filesystem>
#include <functional>

#include "image_fixtures.h"

namespace bilevel::core {
namespace {

namespace fs = std::filesystem;
using test::refused;
using test::TemporaryFolder;

ClassImages someClasses() {
  return {{"cat", "dog/small"}, {torch::randint(0, 256, {2, 3, 4, 4}, torch::kUInt8), torch::randint(0, 256, {5, 3, 4, 4}, torch::kUInt8)}};
}

void expectEqual(const ClassImages& a, const ClassImages& b) {
  ASSERT_EQ(a.names, b.names);
  for (size_t c = 0; c < a.images.size(); ++c) EXPECT_TRUE(torch::equal(a.images[c], b.images[c]));
}

// A loader of images that counts its calls in loads.
std::function<ClassImages()> countedLoad(const ClassImages& images, int& loads) {
  return [&images, &loads] {
    ++loads;
    return images;
  };
}

TEST(CachedClassImages, LoadsOnceThenReadsTheFile) {
  TemporaryFolder folder;
  const ClassImages original = someClasses();
  int loads = 0;
  const auto load = countedLoad(original, loads);
  const std::string cache = folder.path("cache/nested");
  expectEqual(cachedClassImages(cache, "a.bin", load), original);
  expectEqual(cachedClassImages(cache, "a.bin", load), original);
  EXPECT_EQ(loads, 1);
  EXPECT_TRUE(fs::exists(cache + "/a.bin"));
  EXPECT_FALSE(fs::exists(cache + "/a.bin.partial"));
}

TEST(CachedClassImages, ADamagedFileIsLoadedAndWrittenAgain) {
  TemporaryFolder folder;
  const ClassImages original = someClasses();
  int loads = 0;
  const auto load = countedLoad(original, loads);
  cachedClassImages(folder.path("cache"), "a.bin", load);
  std::string bytes = test::readFile(folder.path("cache/a.bin"));
  bytes[bytes.size() - 3] ^= 0x10;
  test::writeFile(folder.path("cache/a.bin"), bytes);
  expectEqual(cachedClassImages(folder.path("cache"), "a.bin", load), original);
  EXPECT_EQ(loads, 2);
  expectEqual(cachedClassImages(folder.path("cache"), "a.bin", load), original);
  EXPECT_EQ(loads, 2);
}

TEST(CachedClassImages, AnUnwritableCacheIsAnError) {
  TemporaryFolder folder;
  test::writeFile(folder.path("file"), "a file where the cache folder would be");
  EXPECT_TRUE(refused([&] { cachedClassImages(folder.path("file"), "a.bin", someClasses); }, "IO", "cannot create the image cache folder"));
}

TEST(ImageCacheName, ChangesWithTheFilesAndTheResize) {
  TemporaryFolder folder;
  fs::create_directories(folder.path("images/a"));
  test::writeFile(folder.path("images/a/1.png"), "one");
  const std::string first = imageCacheName("folders", {folder.path("images")}, 28, 1);
  EXPECT_EQ(imageCacheName("folders", {folder.path("images")}, 28, 1), first);
  EXPECT_EQ(first.rfind("folders-28px-1c-", 0), 0u) << first;
  EXPECT_NE(imageCacheName("folders", {folder.path("images")}, 32, 1), first);
  EXPECT_NE(imageCacheName("folders", {folder.path("images")}, 28, 3), first);
  EXPECT_NE(imageCacheName("omniglot", {folder.path("images")}, 28, 1), first);
  test::writeFile(folder.path("images/a/2.png"), "two");
  const std::string added = imageCacheName("folders", {folder.path("images")}, 28, 1);
  EXPECT_NE(added, first);
  test::writeFile(folder.path("images/a/2.png"), "twos");
  EXPECT_NE(imageCacheName("folders", {folder.path("images")}, 28, 1), added);
}

}  // namespace
}  // namespace bilevel::core
