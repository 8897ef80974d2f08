#include "core/images/class_folders.h"

#include <filesystem>

#include "image_fixtures.h"

namespace bilevel::core {
namespace {

namespace fs = std::filesystem;
using test::refused;
using test::smoothImage;
using test::TemporaryFolder;

void makeFolder(const std::string& path) { fs::create_directories(path); }

TEST(ReadClassFolders, OneClassPerFolderSortedWithItsImagesResized) {
  TemporaryFolder folder;
  const std::string root = folder.path("train");
  makeFolder(root + "/zebra");
  makeFolder(root + "/ant");
  makeFolder(root + "/.thumbnails");
  test::writePng(root + "/zebra/b.png", smoothImage(3, 20, 30));
  test::writeJpeg(root + "/zebra/a.jpg", smoothImage(3, 10, 10, 50));
  test::writePng(root + "/ant/only.png", smoothImage(1, 16, 16));
  test::writeFile(root + "/zebra/.DS_Store", "not an image");
  const ClassImages classes = readClassFolders(root, 10, 3);
  ASSERT_EQ(classes.names, (std::vector<std::string>{"ant", "zebra"}));
  EXPECT_EQ(classes.images[0].sizes(), (std::vector<int64_t>{1, 3, 10, 10}));
  EXPECT_EQ(classes.images[1].sizes(), (std::vector<int64_t>{2, 3, 10, 10}));
  // Files in name order: a.jpg (10 x 10, unresized) first.
  EXPECT_LE((classes.images[1][0].to(torch::kInt32) - smoothImage(3, 10, 10, 50).to(torch::kInt32)).abs().max().item<int>(), 4);
  // The gray PNG is read as RGB: three equal channels.
  EXPECT_TRUE(torch::equal(classes.images[0][0][0], classes.images[0][0][2]));
}

TEST(ReadClassFolders, RefusesMissingEmptyAndUnreadableNamingThePath) {
  TemporaryFolder folder;
  const std::string root = folder.path("data");
  EXPECT_TRUE(refused([&] { readClassFolders(root, 8, 1); }, "INVALID_ARGUMENT", root + ": no such folder"));
  makeFolder(root);
  EXPECT_TRUE(refused([&] { readClassFolders(root, 8, 1); }, "INVALID_ARGUMENT", root + ": no class folders in it"));
  makeFolder(root + "/empty");
  EXPECT_TRUE(refused([&] { readClassFolders(root, 8, 1); }, "INVALID_ARGUMENT", "class 'empty' has no images"));
  test::writePng(root + "/empty/one.png", smoothImage(1, 8, 8));
  test::writeFile(root + "/empty/readme.txt", "a note");
  EXPECT_TRUE(refused([&] { readClassFolders(root, 8, 1); }, "INVALID_ARGUMENT", root + "/empty/readme.txt: not a readable image"));
}

TEST(ReadAlphabets, OneClassPerCharacterNamedByItsAlphabet) {
  TemporaryFolder folder;
  const std::string root = folder.path("images_background");
  for (const char* character : {"Greek/character02", "Greek/character01", "Latin/character01"}) {
    makeFolder(root + "/" + character);
    for (int i = 0; i < 3; ++i) test::writePng(root + "/" + character + "/" + std::to_string(i) + ".png", smoothImage(1, 12, 12, i));
  }
  const ClassImages classes = readAlphabets(root, 12, 1);
  EXPECT_EQ(classes.names, (std::vector<std::string>{"Greek/character01", "Greek/character02", "Latin/character01"}));
  for (const torch::Tensor& images : classes.images) EXPECT_EQ(images.sizes(), (std::vector<int64_t>{3, 1, 12, 12}));
  EXPECT_TRUE(torch::equal(classes.images[2][1], smoothImage(1, 12, 12, 1)));
  makeFolder(root + "/Latin/character02");
  EXPECT_TRUE(refused([&] { readAlphabets(root, 12, 1); }, "INVALID_ARGUMENT", "class 'Latin/character02' has no images"));
  EXPECT_TRUE(refused([&] { readAlphabets(folder.path("images_evaluation"), 12, 1); }, "INVALID_ARGUMENT", "images_evaluation: no such folder"));
}

TEST(ReadCsvSplit, ClassesInTheOrderTheyFirstAppear) {
  TemporaryFolder folder;
  const std::string images = folder.path("images");
  makeFolder(images);
  for (int i = 0; i < 5; ++i) test::writeJpeg(images + "/n" + std::to_string(i) + ".jpg", smoothImage(3, 30, 20, 10 * i));
  test::writeFile(folder.path("train.csv"), "filename,label\r\nn3.jpg,n02\r\nn0.jpg,n01\r\nn1.jpg,n02\r\n\r\nn4.jpg,n01\r\n");
  const ClassImages classes = readCsvSplit(images, folder.path("train.csv"), 16, 3);
  EXPECT_EQ(classes.names, (std::vector<std::string>{"n02", "n01"}));
  EXPECT_EQ(classes.images[0].sizes(), (std::vector<int64_t>{2, 3, 16, 16}));
  EXPECT_EQ(classes.images[1].sizes(), (std::vector<int64_t>{2, 3, 16, 16}));
}

TEST(ReadCsvSplit, RefusesBadRowsNamingTheLine) {
  TemporaryFolder folder;
  const std::string images = folder.path("images");
  makeFolder(images);
  test::writePng(images + "/a.png", smoothImage(3, 8, 8));
  const std::string csv = folder.path("test.csv");
  EXPECT_TRUE(refused([&] { readCsvSplit(images, csv, 8, 3); }, "INVALID_ARGUMENT", csv + ": cannot open it"));
  test::writeFile(csv, "file,class\na.png,x\n");
  EXPECT_TRUE(refused([&] { readCsvSplit(images, csv, 8, 3); }, "INVALID_ARGUMENT", csv + ":1: the header must be 'filename,label'"));
  test::writeFile(csv, "filename,label\na.png,x\nb.png,x\n");
  EXPECT_TRUE(refused([&] { readCsvSplit(images, csv, 8, 3); }, "INVALID_ARGUMENT", csv + ":3: " + images + "/b.png: no such file"));
  test::writeFile(csv, "filename,label\na.png\n");
  EXPECT_TRUE(refused([&] { readCsvSplit(images, csv, 8, 3); }, "INVALID_ARGUMENT", csv + ":2: expected 'filename,label'"));
  test::writeFile(csv, "filename,label\n");
  EXPECT_TRUE(refused([&] { readCsvSplit(images, csv, 8, 3); }, "INVALID_ARGUMENT", csv + ": no rows after the header"));
}

}  // namespace
}  // namespace bilevel::core
