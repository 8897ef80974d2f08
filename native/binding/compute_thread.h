// The process's one thread for native computation. LibTorch's OpenMP gives every thread that
// enters a parallel region a team of its own that outlives the call; with teams made by several
// libuv workers and the JS thread, libgomp sees more threads than cores and puts its threads to
// sleep between parallel regions instead of spinning, which made a DARTS search step 2-3x slower
// (docs/benchmarks.md). So every native computation that does not call JavaScript runs here, one
// at a time in the order asked: one OpenMP team in the process.
#pragma once
#include <functional>
#include <optional>
#include <type_traits>

namespace bilevel::binding {

// Runs work on the compute thread and waits for it; what it throws is rethrown to the caller.
// Called on the compute thread itself, it runs the work at once.
void onComputeThread(const std::function<void()>& work);

// body() on the compute thread; its result.
template <typename Body>
auto computed(Body&& body) -> std::invoke_result_t<Body&> {
  std::optional<std::invoke_result_t<Body&>> result;
  onComputeThread([&] { result.emplace(body()); });
  return std::move(*result);
}

}  // namespace bilevel::binding
