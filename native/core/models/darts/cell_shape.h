// How the DARTS networks thread channels and image sizes through their cells: which cells reduce,
// and each cell's input and node channels (DARTS's Network and NetworkCIFAR constructors).
#pragma once
#include <cstdint>
#include <vector>

namespace bilevel::core::models::darts {

struct CellShape {
  int64_t previousPrevious;  // channels of the cell's first input (the output two cells back)
  int64_t previous;          // channels of its second input (the previous cell's output)
  int64_t channels;          // of each intermediate node
  bool reduction;            // the edges from the inputs have stride 2: the cell halves the image
  bool afterReduction;       // the first input is twice the second's size: a factorized reduction brings it down
  int64_t nodes;
  int64_t multiplier;        // nodes concatenated into the output: multiplier * channels channels
  int64_t outputChannels() const { return multiplier * channels; }
};

// A kind of cell (normal or reduction): its intermediate nodes and how many it concatenates.
struct CellKind {
  int64_t nodes;
  int64_t multiplier;
};

// Cells cells / 3 and 2 cells / 3 reduce (integer division).
bool isReductionCell(int64_t cells, int64_t cell);
// Every cell's shape after a stem of stemMultiplier * channels channels; channels doubles at each
// reduction cell.
std::vector<CellShape> cellShapes(int64_t channels, int64_t cells, int64_t stemMultiplier, const CellKind& normal, const CellKind& reduce);
// INVALID_ARGUMENT (naming `owner`) unless the reduction cells can halve imageSize (even sides each).
void checkHalvings(const char* owner, int64_t imageSize, int64_t cells);

}  // namespace bilevel::core::models::darts
