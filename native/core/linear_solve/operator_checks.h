// What both linear solvers refuse before and during a solve: an empty right-hand side, and a
// product A p that does not match p tensor by tensor.
#pragma once
#include "core/linear_solve/linear_solve.h"

namespace bilevel::core::linear_solve {

// solver names the caller in the messages ("conjugateGradient", ...).
void requireRightHandSide(const TensorList& b, const char* solver);
TensorList checkedProduct(const MatVec& matVec, const TensorList& p, const char* solver);

}  // namespace bilevel::core::linear_solve
