#include "core/images/image_file.h"

#include <zlib.h>

#include "image_fixtures.h"

namespace bilevel::core {
namespace {

using test::refused;
using test::smoothImage;
using test::TemporaryFolder;

TEST(DecodeImage, PngKeepsEveryPixelInGrayAndRgb) {
  TemporaryFolder folder;
  const torch::Tensor gray = torch::randint(0, 256, {1, 5, 7}, torch::kUInt8);
  const torch::Tensor rgb = torch::randint(0, 256, {3, 6, 4}, torch::kUInt8);
  test::writePng(folder.path("gray.png"), gray);
  test::writePng(folder.path("rgb.png"), rgb);
  EXPECT_TRUE(torch::equal(decodeImage(folder.path("gray.png"), 1), gray));
  EXPECT_TRUE(torch::equal(decodeImage(folder.path("rgb.png"), 3), rgb));
  // Gray read as RGB repeats the level in every channel; an RGB image of equal channels reads back as that gray.
  EXPECT_TRUE(torch::equal(decodeImage(folder.path("gray.png"), 3), gray.expand({3, 5, 7})));
  test::writePng(folder.path("equal.png"), gray.expand({3, 5, 7}));
  EXPECT_LE((decodeImage(folder.path("equal.png"), 1).to(torch::kInt32) - gray.to(torch::kInt32)).abs().max().item<int>(), 1);
}

TEST(DecodeImage, PngTransparencyIsCompositedOnBlack) {
  TemporaryFolder folder;
  // Four pixels: level 200 at alpha 255, 0 and 128 (sRGB-correct compositing halves the light, not the level).
  const torch::Tensor rgba = torch::tensor({200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 255, 0, 255, 128}, torch::kUInt8)
                                 .view({4, 1, 4});
  test::writePng(folder.path("alpha.png"), rgba);
  const torch::Tensor rgb = decodeImage(folder.path("alpha.png"), 3);
  EXPECT_EQ(rgb[0][0][0].item<int>(), 200);
  EXPECT_EQ(rgb[0][0][1].item<int>(), 0);
  EXPECT_EQ(rgb[0][0][2].item<int>(), 200);
  EXPECT_GT(rgb[0][0][3].item<int>(), 0);
  EXPECT_LT(rgb[0][0][3].item<int>(), 200);
}

TEST(DecodeImage, JpegIsWithinAFewLevelsOfItsSource) {
  TemporaryFolder folder;
  const torch::Tensor rgb = smoothImage(3, 16, 24);
  const torch::Tensor gray = smoothImage(1, 9, 11);
  test::writeJpeg(folder.path("rgb.jpg"), rgb);
  test::writeJpeg(folder.path("gray.jpeg"), gray);
  const torch::Tensor decoded = decodeImage(folder.path("rgb.jpg"), 3);
  ASSERT_EQ(decoded.sizes(), rgb.sizes());
  EXPECT_LE((decoded.to(torch::kInt32) - rgb.to(torch::kInt32)).abs().max().item<int>(), 4);
  const torch::Tensor decodedGray = decodeImage(folder.path("gray.jpeg"), 1);
  ASSERT_EQ(decodedGray.sizes(), gray.sizes());
  EXPECT_LE((decodedGray.to(torch::kInt32) - gray.to(torch::kInt32)).abs().max().item<int>(), 2);
}

TEST(DecodeImage, TheFormatIsToldByTheBytesNotTheName) {
  TemporaryFolder folder;
  const torch::Tensor gray = smoothImage(1, 8, 8);
  test::writeJpeg(folder.path("named.png"), gray);
  EXPECT_EQ(decodeImage(folder.path("named.png"), 1).sizes(), gray.sizes());
}

TEST(DecodeImage, RefusesBadFilesNamingThem) {
  TemporaryFolder folder;
  EXPECT_TRUE(refused([&] { decodeImage(folder.path("missing.png"), 1); }, "INVALID_ARGUMENT", "missing.png: not a readable image (cannot open it"));
  test::writeFile(folder.path("notes.txt"), "hello");
  EXPECT_TRUE(refused([&] { decodeImage(folder.path("notes.txt"), 1); }, "INVALID_ARGUMENT", "notes.txt: not a readable image (neither PNG nor JPEG"));
  test::writeFile(folder.path("empty.png"), "");
  EXPECT_TRUE(refused([&] { decodeImage(folder.path("empty.png"), 1); }, "INVALID_ARGUMENT", "empty.png: not a readable image"));

  test::writePng(folder.path("whole.png"), smoothImage(3, 32, 32));
  const std::string png = test::readFile(folder.path("whole.png"));
  test::writeFile(folder.path("cut.png"), png.substr(0, png.size() / 2));
  EXPECT_TRUE(refused([&] { decodeImage(folder.path("cut.png"), 3); }, "INVALID_ARGUMENT", "cut.png: not a readable image (PNG:"));

  test::writeJpeg(folder.path("whole.jpg"), smoothImage(3, 32, 32));
  const std::string jpeg = test::readFile(folder.path("whole.jpg"));
  test::writeFile(folder.path("cut.jpg"), jpeg.substr(0, jpeg.size() / 2));
  EXPECT_TRUE(refused([&] { decodeImage(folder.path("cut.jpg"), 3); }, "INVALID_ARGUMENT", "cut.jpg: not a readable image (JPEG:"));
  std::string flipped = jpeg;
  for (size_t at = 4; at < 12; ++at) flipped[at] = '\x00';  // the first marker's length and contents
  test::writeFile(folder.path("garbled.jpg"), flipped);
  EXPECT_TRUE(refused([&] { decodeImage(folder.path("garbled.jpg"), 3); }, "INVALID_ARGUMENT", "garbled.jpg: not a readable image (JPEG:"));
  EXPECT_TRUE(refused([&] { decodeImage(folder.path("whole.jpg"), 2); }, "INVALID_ARGUMENT", "1 or 3 channels"));
}

TEST(DecodeImage, RefusesAHugeSideBeforeDecoding) {
  TemporaryFolder folder;
  test::writePng(folder.path("small.png"), smoothImage(1, 4, 4));
  std::string png = test::readFile(folder.path("small.png"));
  // IHDR's width (bytes 16..19, big-endian) set to 100,000, its CRC (bytes 29..32, over bytes 12..28) sealed again.
  std::string width;
  test::putBigEndian(width, 100000, 4);
  png.replace(16, 4, width);
  std::string crc;
  test::putBigEndian(crc, crc32(0L, reinterpret_cast<const Bytef*>(png.data() + 12), 17), 4);
  png.replace(29, 4, crc);
  test::writeFile(folder.path("huge.png"), png);
  EXPECT_TRUE(refused([&] { decodeImage(folder.path("huge.png"), 1); }, "INVALID_ARGUMENT", "huge.png: not a readable image (100000 x 4 pixels"));
}

TEST(ResizeImages, KeepsConstantsAndTheMeanLevel) {
  const torch::Tensor constant = torch::full({2, 3, 40, 30}, 77, torch::kUInt8);
  EXPECT_TRUE(torch::equal(resizeImages(constant, 12), torch::full({2, 3, 12, 12}, 77, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(resizeImages(constant, 50), torch::full({2, 3, 50, 50}, 77, torch::kUInt8)));
  const torch::Tensor same = torch::randint(0, 256, {1, 1, 9, 9}, torch::kUInt8);
  EXPECT_TRUE(torch::equal(resizeImages(same, 9), same));
  // Antialiased shrinking averages: columns of 200 one in four (mean 50) shrunk four times keep
  // about the mean level, where bilinear sampling without antialiasing reads only the zero
  // columns between them.
  const torch::Tensor stripes = (torch::arange(16) % 4 == 0).to(torch::kUInt8).mul(200).expand({1, 1, 16, 16}).contiguous();
  const torch::Tensor shrunk = resizeImages(stripes, 4).to(torch::kInt32);
  EXPECT_GE(shrunk.min().item<int>(), 35) << shrunk;
  EXPECT_LE(shrunk.max().item<int>(), 65) << shrunk;
}

}  // namespace
}  // namespace bilevel::core
