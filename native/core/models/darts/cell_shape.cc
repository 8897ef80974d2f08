#include "core/models/darts/cell_shape.h"

#include <string>

#include "core/error.h"

namespace bilevel::core::models::darts {

bool isReductionCell(int64_t cells, int64_t cell) { return cell == cells / 3 || cell == 2 * cells / 3; }

std::vector<CellShape> cellShapes(int64_t channels, int64_t cells, int64_t stemMultiplier, const CellKind& normal, const CellKind& reduce) {
  std::vector<CellShape> shapes;
  int64_t previousPrevious = stemMultiplier * channels, previous = previousPrevious;
  bool afterReduction = false;
  for (int64_t cell = 0; cell < cells; ++cell) {
    const bool reduction = isReductionCell(cells, cell);
    if (reduction) channels *= 2;
    const CellKind& kind = reduction ? reduce : normal;
    shapes.push_back({previousPrevious, previous, channels, reduction, afterReduction, kind.nodes, kind.multiplier});
    afterReduction = reduction;
    previousPrevious = previous;
    previous = shapes.back().outputChannels();
  }
  return shapes;
}

void checkHalvings(const char* owner, int64_t imageSize, int64_t cells) {
  int64_t side = imageSize;
  for (int64_t cell = 0; cell < cells; ++cell) {
    if (!isReductionCell(cells, cell)) continue;
    if (side < 2 || side % 2 != 0) {
      throw Error("INVALID_ARGUMENT", std::string(owner) + ": imageSize " + std::to_string(imageSize) +
                                          " cannot be halved at every reduction cell (even sides needed; cell " + std::to_string(cell) +
                                          " gets " + std::to_string(side) + ")");
    }
    side /= 2;
  }
}

}  // namespace bilevel::core::models::darts
