// The checkpoint container (magic, format, CRC-32, length) and its record parser, through the
// public save / load of a solver: a round trip continues bit for bit; a truncated, bit-flipped or
// edited-and-resealed file is refused with the core's error and leaves the solver unchanged,
// whatever its bytes (under the sanitizer build, any out-of-bounds read or overflow fails too).
#include <zlib.h>

#include "core/checkpoint.h"
#include "core/solver.h"
#include "core/tasks/toy/toy_problems.h"
#include "support.h"

namespace bilevel::core {
namespace {

using test::putLittleEndian;
using test::refused;

constexpr size_t kHeaderBytes = 24;  // magic (8), format (4), CRC-32 (4), payload length (8)

// Adam on Eq. 20 with y of n elements, K = 4.
std::unique_ptr<Solver> makeSolver(int64_t n = 3) {
  ToyOptions toy;
  toy.name = "nonconvex";
  toy.n = n;
  TrajectorySolverOptions options;
  options.dynamics.steps = 4;
  options.upper.kind = OptimizerOptions::Kind::Adam;
  options.upper.lr = 0.1;
  return makeTrajectorySolver(makeToyProblem(toy), options);
}

bool same(const TensorList& a, const TensorList& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

// The container around payload, with a correct checksum and length: what an editor who knows the
// format writes.
std::string sealed(const std::string& payload) {
  std::string out = "BLVLCKPT";
  putLittleEndian(out, 2, 4);
  putLittleEndian(out, crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())), 4);
  putLittleEndian(out, payload.size(), 8);
  return out + payload;
}

std::string named(const std::string& name) {
  std::string out;
  putLittleEndian(out, name.size(), 4);
  return out + name;
}

std::string textRecord(const std::string& name, const std::string& text) {
  std::string out = named(name) + '\x02';
  putLittleEndian(out, text.size(), 8);
  return out + text;
}

// A tensor record: dtype code (0 float32, 1 float64, ...), rank, sizes, then data as given.
std::string tensorRecord(const std::string& name, uint8_t dtype, const std::vector<uint64_t>& sizes, const std::string& data) {
  std::string out = named(name) + '\x01';
  out.push_back(static_cast<char>(dtype));
  out.push_back(static_cast<char>(sizes.size()));
  for (const uint64_t size : sizes) putLittleEndian(out, size, 8);
  return out + data;
}

std::string payloadOf(uint64_t count, const std::string& records) {
  std::string out;
  putLittleEndian(out, count, 8);
  return out + records;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(7);
    written_ = makeSolver();
    written_->step();
    written_->step();
    path_ = folder_.path("run.ckpt");
    saveCheckpoint(*written_, path_, "meta text");
    bytes_ = test::readFile(path_);
    ASSERT_GT(bytes_.size(), kHeaderBytes);
    reader_ = makeSolver();
  }

  // Loads bytes into reader_; on a refusal, checks that reader_ kept its values.
  ::testing::AssertionResult loadRefused(const std::string& bytes, const std::string& code, const std::string& phrase) {
    const TensorList before = reader_->upperValues();
    test::writeFile(path_, bytes);
    ::testing::AssertionResult result = refused([&] { loadCheckpoint(*reader_, path_); }, code, phrase);
    if (result && !same(reader_->upperValues(), before)) return ::testing::AssertionFailure() << "refused, but x changed";
    return result;
  }

  test::TemporaryFolder folder_;
  std::unique_ptr<Solver> written_;
  std::unique_ptr<Solver> reader_;
  std::string path_;
  std::string bytes_;
};

TEST_F(CheckpointTest, RoundTripContinuesBitForBit) {
  EXPECT_EQ(loadCheckpoint(*reader_, path_), "meta text");
  EXPECT_TRUE(same(reader_->upperValues(), written_->upperValues()));
  EXPECT_TRUE(same(reader_->lowerValues(), written_->lowerValues()));
  const IterationRecord next = written_->step();
  const IterationRecord resumed = reader_->step();
  EXPECT_EQ(resumed.iteration, 2);
  EXPECT_EQ(resumed.upper, next.upper);
  EXPECT_TRUE(same(reader_->upperValues(), written_->upperValues()));
}

TEST_F(CheckpointTest, RefusesEveryTruncation) {
  for (size_t length = 0; length < bytes_.size(); ++length) {
    ASSERT_TRUE(loadRefused(bytes_.substr(0, length), "INVALID_ARGUMENT", "not a readable checkpoint")) << length << " bytes";
  }
}

TEST_F(CheckpointTest, RefusesEveryFlippedByte) {
  for (size_t at = 0; at < bytes_.size(); ++at) {
    std::string flipped = bytes_;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x10);
    ASSERT_TRUE(loadRefused(flipped, "INVALID_ARGUMENT", "not a readable checkpoint")) << "byte " << at;
  }
}

TEST_F(CheckpointTest, ExtendedFileIsRefused) {
  EXPECT_TRUE(loadRefused(bytes_ + '\0', "INVALID_ARGUMENT", "truncated or extended"));
}

// Every byte of the payload edited and the file resealed: the parser and the solver's checks must
// refuse it with the core's error or load it (an edited number is still a number), never crash.
TEST_F(CheckpointTest, ResealedEditsAreRefusedOrLoaded) {
  const std::string payload = bytes_.substr(kHeaderBytes);
  for (size_t at = 0; at < payload.size(); ++at) {
    for (const unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string edited = payload;
      edited[at] = static_cast<char>(edited[at] ^ mask);
      const TensorList before = reader_->upperValues();
      test::writeFile(path_, sealed(edited));
      try {
        loadCheckpoint(*reader_, path_);
      } catch (const Error&) {
        ASSERT_TRUE(same(reader_->upperValues(), before)) << "refused, but x changed (byte " << at << ")";
      } catch (const std::exception& e) {
        FAIL() << "byte " << at << " ^ " << int(mask) << ": not the core's Error: " << e.what();
      }
    }
  }
}

TEST_F(CheckpointTest, FormatOneArchiveIsNamed) {
  EXPECT_TRUE(loadRefused("PK\x03\x04 an old archive", "INVALID_ARGUMENT", "format 1"));
}

TEST_F(CheckpointTest, OtherFormatIsRefused) {
  std::string other = bytes_;
  other[8] = 3;
  EXPECT_TRUE(loadRefused(other, "INVALID_ARGUMENT", "format 3"));
}

TEST_F(CheckpointTest, RecordCountBeyondTheFileIsRefused) {
  EXPECT_TRUE(loadRefused(sealed(payloadOf(UINT64_MAX, "")), "INVALID_ARGUMENT", "ends inside"));
}

TEST_F(CheckpointTest, NameLengthBeyondTheFileIsRefused) {
  std::string record;
  putLittleEndian(record, 0xffffffffu, 4);
  EXPECT_TRUE(loadRefused(sealed(payloadOf(1, record + "meta")), "INVALID_ARGUMENT", "ends inside a name"));
}

TEST_F(CheckpointTest, TextLengthBeyondTheFileIsRefused) {
  std::string record = named("meta") + '\x02';
  putLittleEndian(record, UINT64_MAX, 8);
  EXPECT_TRUE(loadRefused(sealed(payloadOf(1, record + "text")), "INVALID_ARGUMENT", "ends inside a text"));
}

TEST_F(CheckpointTest, UnknownKindIsRefused) {
  EXPECT_TRUE(loadRefused(sealed(payloadOf(1, named("meta") + '\x03')), "INVALID_ARGUMENT", "unknown kind"));
}

TEST_F(CheckpointTest, UnknownDtypeIsRefused) {
  EXPECT_TRUE(loadRefused(sealed(payloadOf(1, tensorRecord("rng", 8, {1}, "x"))), "INVALID_ARGUMENT", "unknown dtype"));
}

TEST_F(CheckpointTest, RankAbove64IsRefused) {
  const std::vector<uint64_t> sizes(65, 1);
  EXPECT_TRUE(loadRefused(sealed(payloadOf(1, tensorRecord("rng", 4, sizes, "x"))), "INVALID_ARGUMENT", "65 dimensions"));
}

// 2^40 x 2^40 float64 elements: the product of the sizes overflows 64 bits; it must be refused
// before any allocation.
TEST_F(CheckpointTest, SizesWhoseProductOverflowsAreRefused) {
  const std::vector<uint64_t> sizes = {uint64_t(1) << 40, uint64_t(1) << 40};
  EXPECT_TRUE(loadRefused(sealed(payloadOf(1, tensorRecord("rng", 1, sizes, "12345678"))), "INVALID_ARGUMENT",
                          "larger than the file"));
}

// A zero size first lets any later size pass the bytes-left check; one above INT64_MAX is no
// tensor size (LibTorch's sizes are signed).
TEST_F(CheckpointTest, SizeAboveInt64MaxIsRefused) {
  const std::vector<uint64_t> sizes = {0, uint64_t(1) << 63};
  EXPECT_TRUE(loadRefused(sealed(payloadOf(1, tensorRecord("rng", 4, sizes, ""))), "INVALID_ARGUMENT",
                          "'rng' has a size above 2^63 - 1"));
}

TEST_F(CheckpointTest, DuplicateNameIsRefused) {
  const std::string record = textRecord("meta", "a");
  EXPECT_TRUE(loadRefused(sealed(payloadOf(2, record + record)), "INVALID_ARGUMENT", "appears twice"));
}

TEST_F(CheckpointTest, BytesAfterTheLastRecordAreRefused) {
  EXPECT_TRUE(loadRefused(sealed(payloadOf(1, textRecord("meta", "a") + "extra")), "INVALID_ARGUMENT",
                          "bytes after the last record"));
}

// Well-formed records that are not this solver's state: a text where a tensor belongs, and an
// empty tensor (zero elements, no data) where the generator state belongs.
TEST_F(CheckpointTest, WellFormedForeignRecordsAreRefused) {
  EXPECT_TRUE(loadRefused(sealed(payloadOf(2, textRecord("meta", "m") + textRecord("rng", "r"))), "INVALID_ARGUMENT",
                          "no 'rng'"));
  EXPECT_TRUE(loadRefused(sealed(payloadOf(2, textRecord("meta", "m") + tensorRecord("rng", 4, {0}, ""))),
                          "INVALID_ARGUMENT", "corrupt checkpoint"));
}

TEST_F(CheckpointTest, CheckpointOfAnotherProblemIsRefused) {
  const auto other = makeSolver(4);
  const TensorList before = other->lowerValues();
  EXPECT_TRUE(refused([&] { loadCheckpoint(*other, path_); }, "SHAPE_MISMATCH", "'y.0'"));
  EXPECT_TRUE(same(other->lowerValues(), before));
}

}  // namespace
}  // namespace bilevel::core
