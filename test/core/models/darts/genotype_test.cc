// deriveCell against alphas worked by hand: the two strongest incoming edges per node by their
// strongest operation other than none, ties to the lower edge and the earlier operation, and the
// shapes it refuses.
#include "core/models/darts/genotype.h"

#include "../../support.h"

namespace bilevel::core::models::darts {
namespace {

using test::refused;

// Column of op in a row of alpha.
int64_t column(Operation op) { return static_cast<int64_t>(op); }

TEST(DartsGenotype, CellEdgesCountEveryEarlierState) {
  EXPECT_EQ(cellEdges(1), 2);
  EXPECT_EQ(cellEdges(2), 5);
  EXPECT_EQ(cellEdges(4), 14);
}

TEST(DartsGenotype, UniformAlphaKeepsTheFirstTwoInputsAndTheFirstOperationAfterNone) {
  const CellGenotype cell = deriveCell(torch::zeros({14, 8}), 4, 4);
  ASSERT_EQ(cell.edges.size(), 8u);
  for (size_t e = 0; e < 8; ++e) EXPECT_EQ(cell.edges[e], (GenotypeEdge{Operation::MaxPool3x3, static_cast<int64_t>(e % 2)})) << e;
  EXPECT_EQ(cell.concat, (std::vector<int64_t>{2, 3, 4, 5}));
}

TEST(DartsGenotype, HandWorkedAlpha) {
  torch::Tensor alpha = torch::zeros({14, 8}, torch::kFloat64);
  const auto set = [&](int64_t row, Operation op, double value) { alpha[row][column(op)] = value; };
  // Node 0 (rows 0, 1): softmax weights 0.514 (sep_conv_3x3) and 0.280 (skip_connect); both kept, strongest first.
  set(0, Operation::SepConv3x3, 2);
  set(1, Operation::SkipConnect, 1);
  // Node 1 (rows 2-4): row 2's none takes its mass (dil_conv_5x5 0.0009); rows 3 (0.280) and 4 (0.390) win.
  set(2, Operation::None, 10);
  set(2, Operation::DilConv5x5, 3);
  set(3, Operation::SepConv5x5, 1);
  set(4, Operation::AvgPool3x3, 1.5);
  // Node 2 (rows 5-8): rows 5 and 7 tie (dil_conv_3x3 0.514): the lower input first.
  set(5, Operation::DilConv3x3, 2);
  set(7, Operation::DilConv3x3, 2);
  // Node 3 (rows 9-13): row 12 ties two operations (0.238 each): the earlier, sep_conv_3x3; row 10's skip 0.191 beats 0.125.
  set(12, Operation::SepConv3x3, 1);
  set(12, Operation::DilConv3x3, 1);
  set(10, Operation::SkipConnect, 0.5);
  const CellGenotype cell = deriveCell(alpha, 4, 2);
  const std::vector<GenotypeEdge> expected = {
      {Operation::SepConv3x3, 0}, {Operation::SkipConnect, 1}, {Operation::AvgPool3x3, 2}, {Operation::SepConv5x5, 1},
      {Operation::DilConv3x3, 0}, {Operation::DilConv3x3, 2}, {Operation::SepConv3x3, 3}, {Operation::SkipConnect, 1},
  };
  ASSERT_EQ(cell.edges.size(), expected.size());
  for (size_t e = 0; e < expected.size(); ++e) {
    EXPECT_EQ(cell.edges[e], expected[e]) << "edge " << e << ": " << operationName(cell.edges[e].operation) << " from " << cell.edges[e].input;
  }
  EXPECT_EQ(cell.concat, (std::vector<int64_t>{4, 5}));

  const Genotype both = deriveGenotype(alpha, torch::zeros({14, 8}));
  EXPECT_EQ(both.normal.edges, cell.edges);
  EXPECT_EQ(both.reduce.edges[7], (GenotypeEdge{Operation::MaxPool3x3, 1}));
}

TEST(DartsGenotype, RefusesWhatDoesNotFit) {
  EXPECT_TRUE(refused([] { deriveCell(torch::zeros({14, 7}), 4, 4); }, "SHAPE_MISMATCH", "alpha must be [14, 8] for 4 nodes; got [14, 7]"));
  EXPECT_TRUE(refused([] { deriveCell(torch::zeros({5, 8}), 4, 4); }, "SHAPE_MISMATCH", "alpha must be [14, 8]"));
  EXPECT_TRUE(refused([] { deriveCell(torch::zeros({14, 8}), 4, 5); }, "INVALID_ARGUMENT", "multiplier in 1..nodes"));
}

TEST(DartsOperations, NamesAreDartsPrimitives) {
  EXPECT_EQ(operationName(Operation::DilConv5x5), "dil_conv_5x5");
  for (const Operation op : kOperations) EXPECT_EQ(operationNamed(operationName(op)), op);
  EXPECT_TRUE(refused([] { operationNamed("conv_7x1_1x7"); }, "INVALID_ARGUMENT", "not an operation of the DARTS space (none, max_pool_3x3"));
}

}  // namespace
}  // namespace bilevel::core::models::darts
