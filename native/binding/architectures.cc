// deriveGenotype: DARTS's rule (core/models/darts/genotype.h) from JavaScript, the genotype in
// DARTS's own structure (normal, normal_concat, reduce, reduce_concat), so that it serializes to
// JSON other tools read; evaluationNetworkSize: the parameters of a genotype's evaluation network.
#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/register.h"
#include "binding/tensor_wrap.h"
#include "core/models/darts/evaluation_network.h"
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

// A cell of a genotype in DARTS's structure, its shape checked by the TypeScript schema already.
darts::CellGenotype readCell(const Napi::Object& genotype, const std::string& name) {
  darts::CellGenotype cell;
  const Napi::Array edges = genotype.Get(name).As<Napi::Array>();
  for (uint32_t i = 0; i < edges.Length(); ++i) {
    const Napi::Array edge = edges.Get(i).As<Napi::Array>();
    const std::string field = "genotype." + name + "[" + std::to_string(i) + "]";
    cell.edges.push_back({darts::operationNamed(edge.Get(0u).As<Napi::String>().Utf8Value()), toInt64(edge.Get(1u), field + "[1]")});
  }
  cell.concat = toInt64Vector(genotype.Get(name + "_concat"), ("genotype." + name + "_concat").c_str());
  return cell;
}

// evaluationNetworkSize(genotype, {inChannels, imageSize, classes, channels, cells}) -> parameters without the auxiliary head
Napi::Value evaluationNetworkSize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "evaluationNetworkSize", [&] {
    const Napi::Object genotype = info[0].As<Napi::Object>();
    const Napi::Object o = info[1].As<Napi::Object>();
    darts::EvaluationNetworkOptions options;
    options.inChannels = toInt64(o.Get("inChannels"), "inChannels");
    options.imageSize = toInt64(o.Get("imageSize"), "imageSize");
    options.classes = toInt64(o.Get("classes"), "classes");
    options.channels = toInt64(o.Get("channels"), "channels");
    options.cells = toInt64(o.Get("cells"), "cells");
    options.auxiliary = false;
    const auto network = darts::evaluationNetwork({readCell(genotype, "normal"), readCell(genotype, "reduce")}, options);
    return Napi::Value(Napi::Number::New(info.Env(), static_cast<double>(network->parameterCountWithoutAuxiliary())));
  });
}

}  // namespace

void registerArchitectures(Napi::Env env, Napi::Object exports) {
  exports.Set("deriveGenotype", Napi::Function::New(env, deriveGenotype, "deriveGenotype"));
  exports.Set("evaluationNetworkSize", Napi::Function::New(env, evaluationNetworkSize, "evaluationNetworkSize"));
}

}  // namespace bilevel::binding
