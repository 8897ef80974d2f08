// The dataset readers on files written here: IDX (raw and gzipped) and CIFAR-10 batches, and the
// refusals that name the file and the byte at fault (trailing data, truncation, counts that would
// overflow or exhaust memory, labels that are no class).
#include <zlib.h>

#include "core/datasets.h"
#include "support.h"

namespace bilevel::core {
namespace {

using test::putBigEndian;
using test::refused;

std::string idxImages(uint32_t count, uint32_t rows, uint32_t cols, const std::string& pixels) {
  std::string out;
  for (const uint32_t word : {0x00000803u, count, rows, cols}) putBigEndian(out, word, 4);
  return out + pixels;
}

std::string idxLabels(uint32_t count, const std::string& labels) {
  std::string out;
  for (const uint32_t word : {0x00000801u, count}) putBigEndian(out, word, 4);
  return out + labels;
}

void writeGzipped(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

class IdxTest : public ::testing::Test {
 protected:
  // Three 2x2 images: pixel values 0..11 in order, labels 0, 9, 4.
  const std::string pixels_{"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b", 12};
  const std::string labels_{"\x00\x09\x04", 3};
  test::TemporaryFolder folder_;
  const std::string images_ = folder_.path("images-idx3-ubyte");
  const std::string labelsPath_ = folder_.path("labels-idx1-ubyte");

  void write(const std::string& images, const std::string& labels) {
    test::writeFile(images_, images);
    test::writeFile(labelsPath_, labels);
  }
  ::testing::AssertionResult readRefused(const std::string& phrase) {
    return refused([&] { readIdx(images_, labelsPath_); }, "INVALID_ARGUMENT", phrase);
  }
};

void expectThreeImages(const LabeledImages& read) {
  EXPECT_EQ(read.images.sizes(), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(read.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(read.images.flatten(), torch::arange(12, torch::kUInt8)));
  EXPECT_EQ(read.labels.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(read.labels, torch::tensor({0, 9, 4}, torch::kInt64)));
}

TEST_F(IdxTest, ReadsImagesAndLabels) {
  write(idxImages(3, 2, 2, pixels_), idxLabels(3, labels_));
  expectThreeImages(readIdx(images_, labelsPath_));
}

TEST_F(IdxTest, ReadsGzippedFiles) {
  writeGzipped(images_, idxImages(3, 2, 2, pixels_));
  writeGzipped(labelsPath_, idxLabels(3, labels_));
  expectThreeImages(readIdx(images_, labelsPath_));
}

TEST_F(IdxTest, TrailingImageDataIsRefusedAtItsByte) {
  write(idxImages(3, 2, 2, pixels_ + "x"), idxLabels(3, labels_));
  EXPECT_TRUE(readRefused("trailing data after the 28 bytes its header declares (at byte 28)"));
}

TEST_F(IdxTest, TrailingLabelDataIsRefused) {
  write(idxImages(3, 2, 2, pixels_), idxLabels(3, labels_ + "x"));
  EXPECT_TRUE(readRefused(labelsPath_ + ": trailing data after the 11 bytes"));
}

TEST_F(IdxTest, TruncatedImagesAreRefused) {
  write(idxImages(3, 2, 2, pixels_.substr(0, 10)), idxLabels(3, labels_));
  EXPECT_TRUE(readRefused("truncated: 12 bytes of data expected from byte 16, the file has 10"));
}

TEST_F(IdxTest, HeaderCutShortIsRefused) {
  write(idxImages(3, 2, 2, "").substr(0, 10), idxLabels(3, labels_));
  EXPECT_TRUE(readRefused("ends inside its header"));
}

// Each count below 2^32 but their product above 64 bits: refused from the header, nothing allocated.
TEST_F(IdxTest, CountsWhoseProductOverflowsAreRefused) {
  write(idxImages(0xffffffffu, 0xffffffffu, 0xffffffffu, ""), idxLabels(0xffffffffu, ""));
  EXPECT_TRUE(readRefused("more than the 2 GiB this reader accepts"));
}

// 2^31 images of 46340 x 46340 (just under 2^31 bytes each): no overflow, but far over the cap.
TEST_F(IdxTest, CountsAboveTheCapAreRefused) {
  write(idxImages(0x80000000u, 46340, 46340, ""), idxLabels(0x80000000u, ""));
  EXPECT_TRUE(readRefused("declares 2147483648 images of 46340x46340"));
}

TEST_F(IdxTest, LabelCountMismatchIsRefused) {
  write(idxImages(3, 2, 2, pixels_), idxLabels(2, labels_.substr(0, 2)));
  EXPECT_TRUE(readRefused("holds 2 labels but " + images_ + " holds 3 images"));
}

TEST_F(IdxTest, LabelOutsideTheClassesIsRefusedAtItsByte) {
  write(idxImages(3, 2, 2, pixels_), idxLabels(3, std::string("\x00\x0a\x04", 3)));
  EXPECT_TRUE(readRefused("label 10 is not a class (0-9) (at byte 9)"));
}

TEST_F(IdxTest, SwappedFilesAreRefusedByMagic) {
  write(idxLabels(3, labels_), idxImages(3, 2, 2, pixels_));
  EXPECT_TRUE(readRefused("bad magic number 0x00000801, expected 0x00000803"));
}

TEST_F(IdxTest, MissingFileAndFolderAreRefused) {
  EXPECT_TRUE(readRefused("cannot open the file"));
  EXPECT_TRUE(refused([&] { readIdx(folder_.path(""), labelsPath_); }, "INVALID_ARGUMENT", "not a regular file"));
}

TEST(CifarTest, ReadsRecords) {
  test::TemporaryFolder folder;
  std::string batch;
  for (const char label : {'\x03', '\x07'}) batch += label + std::string(3072, label);
  test::writeFile(folder.path("data_batch_1.bin"), batch);
  const LabeledImages read = readCifarBatches({folder.path("data_batch_1.bin"), folder.path("data_batch_1.bin")});
  EXPECT_EQ(read.images.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(read.labels, torch::tensor({3, 7, 3, 7}, torch::kInt64)));
  EXPECT_EQ(read.images[1][2][31][31].item<int64_t>(), 7);
}

TEST(CifarTest, PartialRecordIsRefused) {
  test::TemporaryFolder folder;
  test::writeFile(folder.path("batch.bin"), std::string(3073 + 100, '\x01'));
  EXPECT_TRUE(refused([&] { readCifarBatches({folder.path("batch.bin")}); }, "INVALID_ARGUMENT",
                      "the size 3173 is not a multiple of the 3073-byte record (at byte 3073)"));
}

}  // namespace
}  // namespace bilevel::core
