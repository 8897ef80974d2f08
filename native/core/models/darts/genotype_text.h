// A genotype as one line of text, how a task's options carry it (they hold numbers and texts):
//   normal=sep_conv_3x3:0,sep_conv_3x3:1,...;normal_concat=2,3,4,5;reduce=...;reduce_concat=...
// the four fields of DARTS's Genotype in its order, each edge as operation:input. The TypeScript
// facade writes it from the JSON genotype (lib/nas/genotype.ts).
#pragma once
#include <string>

#include "core/models/darts/genotype.h"

namespace bilevel::core::models::darts {

// Refused (INVALID_ARGUMENT, naming `field` and the part at fault): a missing or unknown field, an
// unknown operation, an input or concatenated state that is not a non-negative integer. The
// genotype's structure is checked where a network is built from it (checkedCellKind).
Genotype parseGenotype(const std::string& text, const std::string& field);
std::string genotypeText(const Genotype& genotype);

}  // namespace bilevel::core::models::darts
