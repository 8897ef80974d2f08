// The C++ side of `npm run bench:tensor`: the same ops as bench/tensor.ts, timed without the binding.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>

template <typename Op>
double nanosPerCall(int iterations, Op&& op) {
  for (int i = 0; i < iterations / 10; ++i) op();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) op();
  const auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(end - start).count() / iterations;
}

int main() {
  torch::set_num_threads(1);
  auto a = torch::rand({4});
  auto b = torch::rand({4});
  auto m = torch::rand({512, 512});
  const double add = nanosPerCall(200000, [&] { auto c = a + b; });
  const double matmul = nanosPerCall(200, [&] { auto c = m.matmul(m); });
  std::printf("{\"add4\": %.1f, \"matmul512\": %.1f}\n", add, matmul);
  return 0;
}
