// The linear solvers' shared refusals (operator_checks.h).
#include "core/linear_solve/operator_checks.h"

#include <string>

#include "core/error.h"

namespace bilevel::core::linear_solve {

void requireRightHandSide(const TensorList& b, const char* solver) {
  if (b.empty()) throw Error("INVALID_ARGUMENT", std::string(solver) + ": b must hold at least one tensor");
}

TensorList checkedProduct(const MatVec& matVec, const TensorList& p, const char* solver) {
  TensorList product = matVec(p);
  if (product.size() != p.size()) {
    throw Error("SHAPE_MISMATCH", std::string(solver) + ": the product A p has " + std::to_string(product.size()) +
                                      " tensors, p has " + std::to_string(p.size()));
  }
  for (size_t i = 0; i < p.size(); ++i) {
    if (!product[i].defined() || product[i].sizes() != p[i].sizes()) {
      throw Error("SHAPE_MISMATCH", std::string(solver) + ": tensor " + std::to_string(i) + " of the product A p has shape " +
                                        (product[i].defined() ? c10::str(product[i].sizes()) : std::string("(undefined)")) +
                                        ", p's has " + c10::str(p[i].sizes()));
    }
  }
  return product;
}

}  // namespace bilevel::core::linear_solve
