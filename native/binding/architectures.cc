// deriveGenotype: DARTS's rule (core/models/darts/genotype.h) from JavaScript, the genotype in
// DARTS's own structure (normal, normal_concat, reduce, reduce_concat), so that it serializes to
// JSON other tools read.
#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/register.h"
#include "binding/tensor_wrap.h"
#include "core/models/darts/genotype.h"

namespace bilevel::binding {
namespace {

namespace darts = core::models::darts;

void setCell(Napi::Env env, Napi::Object out, const std::string& name, const darts::CellGenotype& cell) {
  Napi::Array edges = Napi::Array::New(env, cell.edges.size());
  for (size_t i = 0; i < cell.edges.size(); ++i) {
    Napi::Array edge = Napi::Array::New(env, 2);
    edge.Set(0u, darts::operationName(cell.edges[i].operation));
    edge.Set(1u, Napi::Number::New(env, static_cast<double>(cell.edges[i].input)));
    edges.Set(static_cast<uint32_t>(i), edge);
  }
  Napi::Array concat = Napi::Array::New(env, cell.concat.size());
  for (size_t i = 0; i < cell.concat.size(); ++i) concat.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(cell.concat[i])));
  out.Set(name, edges);
  out.Set(name + "_concat", concat);
}

// deriveGenotype(alphaNormal, alphaReduce, nodes, multiplier) -> {normal, normal_concat, reduce, reduce_concat}
Napi::Value deriveGenotype(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "deriveGenotype", [&] {
    const darts::Genotype genotype = darts::deriveGenotype(TensorWrap::unwrap(info[0]), TensorWrap::unwrap(info[1]),
                                                           toInt64(info[2], "nodes"), toInt64(info[3], "multiplier"));
    Napi::Object out = Napi::Object::New(info.Env());
    setCell(info.Env(), out, "normal", genotype.normal);
    setCell(info.Env(), out, "reduce", genotype.reduce);
    return Napi::Value(out);
  });
}

}  // namespace

void registerArchitectures(Napi::Env env, Napi::Object exports) {
  exports.Set("deriveGenotype", Napi::Function::New(env, deriveGenotype, "deriveGenotype"));
}

}  // namespace bilevel::binding
