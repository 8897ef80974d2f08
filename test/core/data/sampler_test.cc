// Data as an argument: batches, named generator streams and the row sampler's save / load.
#include <ATen/CPUGeneratorImpl.h>

#include "core/data/batch.h"
#include "core/data/generator_stream.h"
#include "core/data/row_sampler.h"
#include "../support.h"

namespace bilevel::core {
namespace {

using test::refused;

TEST(BatchTest, NamesItsTensorsAndRefusesAMissingOne) {
  const Batch batch({{"rows", torch::arange(3)}, {"noise", torch::zeros({2})}});
  EXPECT_TRUE(torch::equal(batch.at("rows"), torch::arange(3)));
  EXPECT_TRUE(refused([&] { batch.at("labels"); }, "INVALID_ARGUMENT", "no tensor 'labels' (it holds: rows, noise)"));
  EXPECT_TRUE(Batch().empty());
}

TEST(IterationBatchesTest, OnePerStepOneSharedOrNone) {
  IterationBatches none;
  EXPECT_TRUE(none.lowerAt(7).empty());
  IterationBatches shared;
  shared.lower.emplace_back(Batch({{"episode", torch::ones({1})}}));
  EXPECT_EQ(&shared.lowerAt(0), &shared.lowerAt(9));
  IterationBatches perStep;
  for (int k = 0; k < 3; ++k) perStep.lower.emplace_back(Batch({{"rows", torch::full({1}, k)}}));
  EXPECT_EQ(perStep.lowerAt(2).at("rows").item<int64_t>(), 2);
  EXPECT_EQ(&perStep.lowerLast(3), &perStep.lowerAt(2));
  EXPECT_TRUE(refused([&] { perStep.lowerAt(3); }, "INVALID_ARGUMENT", "LL step 3 has no batch: the sampler drew 3"));
}

TEST(GeneratorStreamTest, NamesAndSeedsGiveUnrelatedStreams) {
  EXPECT_EQ(streamSeed(7, "sampling"), streamSeed(7, "sampling"));
  EXPECT_NE(streamSeed(7, "sampling"), streamSeed(7, "init"));
  EXPECT_NE(streamSeed(7, "sampling"), streamSeed(8, "sampling"));
  at::Generator a = generatorStream(7, "sampling");
  at::Generator b = generatorStream(7, "sampling");
  at::Generator c = generatorStream(7, "noise");
  const torch::Tensor fromA = torch::rand({5}, a, torch::kFloat64);
  EXPECT_TRUE(torch::equal(fromA, torch::rand({5}, b, torch::kFloat64)));
  EXPECT_FALSE(torch::equal(fromA, torch::rand({5}, c, torch::kFloat64)));
}

TEST(RowSamplerTest, OneBatchOfRowsPerStepInRange) {
  RowSampler sampler(10, 4, generatorStream(0, "sampling"), torch::kCPU);
  const IterationBatches batches = sampler.next(3);
  EXPECT_TRUE(batches.upper.empty());
  ASSERT_EQ(batches.lower.size(), 3u);
  for (const Batch& batch : batches.lower) {
    const torch::Tensor rows = batch.at("rows");
    EXPECT_EQ(rows.sizes(), torch::IntArrayRef({4}));
    EXPECT_GE(rows.min().item<int64_t>(), 0);
    EXPECT_LT(rows.max().item<int64_t>(), 10);
  }
  EXPECT_TRUE(refused([] { RowSampler(10, 0, generatorStream(0, "sampling"), torch::kCPU); }, "INVALID_ARGUMENT", "batchSize >= 1"));
}

TEST(RowSamplerTest, AnUpperPopulationGetsItsOwnBatchDrawnAfterTheLowerOnes) {
  RowSampler withUpper(10, 4, generatorStream(0, "sampling"), torch::kCPU, 3);
  RowSampler lowerOnly(10, 4, generatorStream(0, "sampling"), torch::kCPU);
  const IterationBatches batches = withUpper.next(2);
  const IterationBatches plain = lowerOnly.next(2);
  // The LL steps draw what a sampler without an upper population draws.
  for (size_t k = 0; k < 2; ++k) EXPECT_TRUE(torch::equal(batches.lower[k].at("rows"), plain.lower[k].at("rows")));
  const torch::Tensor upper = batches.upper.at("rows");
  EXPECT_EQ(upper.sizes(), torch::IntArrayRef({4}));
  EXPECT_GE(upper.min().item<int64_t>(), 0);
  EXPECT_LT(upper.max().item<int64_t>(), 3);
  // Then from the same stream: the next iteration's first LL batch differs from the plain one's.
  EXPECT_FALSE(torch::equal(withUpper.next(1).lower[0].at("rows"), lowerOnly.next(1).lower[0].at("rows")));
  EXPECT_TRUE(refused([] { RowSampler(10, 4, generatorStream(0, "sampling"), torch::kCPU, -1); }, "INVALID_ARGUMENT", "upperRows >= 0"));
}

TEST(RowSamplerTest, ALoadedSamplerDrawsWhatTheSavedOneDrawsNext) {
  RowSampler saved(1000, 8, generatorStream(3, "sampling"), torch::kCPU);
  saved.next(5);
  StateWriter writer;
  saved.save(writer, "sampler.");
  RowSampler loaded(1000, 8, generatorStream(99, "sampling"), torch::kCPU);
  StateReader reader(writer.records(), "test.ckpt");
  const Commit commit = loaded.load(reader, "sampler.");
  reader.requireAllRead();
  commit();
  for (int i = 0; i < 3; ++i) {
    const IterationBatches expected = saved.next(2), actual = loaded.next(2);
    for (int64_t k = 0; k < 2; ++k) EXPECT_TRUE(torch::equal(expected.lowerAt(k).at("rows"), actual.lowerAt(k).at("rows")));
  }
}

TEST(RowSamplerTest, AMalformedStateIsRefusedAndChangesNothing) {
  RowSampler sampler(1000, 8, generatorStream(3, "sampling"), torch::kCPU);
  RowSampler twin(1000, 8, generatorStream(3, "sampling"), torch::kCPU);
  StateWriter writer;
  writer.tensor("sampler.generator", torch::zeros({7}, torch::kUInt8));
  StateReader reader(writer.records(), "bad.ckpt");
  EXPECT_TRUE(refused([&] { sampler.load(reader, "sampler."); }, "INVALID_ARGUMENT", "bad.ckpt: 'sampler.generator' is not a generator state"));
  EXPECT_TRUE(torch::equal(sampler.next(1).lowerAt(0).at("rows"), twin.next(1).lowerAt(0).at("rows")));
}

}  // namespace
}  // namespace bilevel::core
