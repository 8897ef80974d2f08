// A genotype's text form (core/models/darts/genotype_text.h): written and read back unchanged, and
// each malformed part refused with the field and the part named.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/models/darts/genotype_text.h"

namespace bilevel::core::models::darts {
namespace {

const char* kText =
    "normal=sep_conv_3x3:0,skip_connect:1,dil_conv_3x3:0,max_pool_3x3:2;normal_concat=2,3;"
    "reduce=avg_pool_3x3:0,sep_conv_5x5:1,dil_conv_5x5:2,skip_connect:1;reduce_concat=2,3";

TEST(GenotypeTextTest, ReadsEachEdgeAndConcatenationAndWritesTheSameText) {
  const Genotype genotype = parseGenotype(kText, "g");
  ASSERT_EQ(genotype.normal.edges.size(), 4u);
  EXPECT_EQ(genotype.normal.edges[0], (GenotypeEdge{Operation::SepConv3x3, 0}));
  EXPECT_EQ(genotype.normal.edges[3], (GenotypeEdge{Operation::MaxPool3x3, 2}));
  EXPECT_EQ(genotype.reduce.edges[2], (GenotypeEdge{Operation::DilConv5x5, 2}));
  EXPECT_EQ(genotype.reduce.concat, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(genotypeText(genotype), kText);
}

void expectRefused(const std::string& text, const std::string& message) {
  try {
    parseGenotype(text, "nasRetrain.genotype");
    FAIL() << "accepted: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.code, "INVALID_ARGUMENT");
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
}

TEST(GenotypeTextTest, RefusesMissingRepeatedOrMalformedParts) {
  expectRefused("normal=sep_conv_3x3:0;normal_concat=2;reduce=skip_connect:1", "nasRetrain.genotype: reduce_concat= is missing");
  expectRefused(std::string(kText) + ";normal=skip_connect:0", "is not one of normal=");
  expectRefused("normal=conv_7x7:0;normal_concat=2;reduce=skip_connect:1;reduce_concat=2", "'conv_7x7' is not an operation");
  expectRefused("normal=sep_conv_3x3;normal_concat=2;reduce=skip_connect:1;reduce_concat=2", "nasRetrain.genotype.normal: 'sep_conv_3x3' is not operation:input");
  expectRefused("normal=sep_conv_3x3:-1;normal_concat=2;reduce=skip_connect:1;reduce_concat=2", "'-1' is not a state");
  expectRefused("normal=sep_conv_3x3:0;normal_concat=2,x;reduce=skip_connect:1;reduce_concat=2", "normal_concat: 'x' is not a state");
}

}  // namespace
}  // namespace bilevel::core::models::darts
