#include "core/models/darts/genotype_text.h"

#include <map>
#include <sstream>

#include "core/error.h"

namespace bilevel::core::models::darts {
namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) parts.push_back(part);
  return parts;
}

int64_t state(const std::string& text, const std::string& where) {
  if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos) {
    throw Error("INVALID_ARGUMENT", where + ": '" + text + "' is not a state (a non-negative integer)");
  }
  return std::stoll(text);
}

CellGenotype cell(const std::map<std::string, std::string>& fields, const std::string& name, const std::string& field) {
  CellGenotype out;
  for (const std::string& edge : split(fields.at(name), ',')) {
    const size_t colon = edge.find(':');
    const std::string where = field + "." + name;
    if (colon == std::string::npos) throw Error("INVALID_ARGUMENT", where + ": '" + edge + "' is not operation:input");
    out.edges.push_back({operationNamed(edge.substr(0, colon)), state(edge.substr(colon + 1), where)});
  }
  for (const std::string& s : split(fields.at(name + "_concat"), ',')) out.concat.push_back(state(s, field + "." + name + "_concat"));
  return out;
}

std::string cellText(const CellGenotype& cell, const std::string& name) {
  std::string out = name + "=";
  for (size_t i = 0; i < cell.edges.size(); ++i) {
    out += (i ? "," : "") + operationName(cell.edges[i].operation) + ":" + std::to_string(cell.edges[i].input);
  }
  out += ";" + name + "_concat=";
  for (size_t i = 0; i < cell.concat.size(); ++i) out += (i ? "," : "") + std::to_string(cell.concat[i]);
  return out;
}

}  // namespace

Genotype parseGenotype(const std::string& text, const std::string& field) {
  static const std::vector<std::string> names = {"normal", "normal_concat", "reduce", "reduce_concat"};
  std::map<std::string, std::string> fields;
  for (const std::string& part : split(text, ';')) {
    const size_t equals = part.find('=');
    const std::string name = part.substr(0, equals);
    if (equals == std::string::npos || std::find(names.begin(), names.end(), name) == names.end() || fields.count(name)) {
      throw Error("INVALID_ARGUMENT", field + ": '" + part + "' is not one of normal=, normal_concat=, reduce=, reduce_concat= (once each)");
    }
    fields[name] = part.substr(equals + 1);
  }
  for (const std::string& name : names) {
    if (!fields.count(name)) throw Error("INVALID_ARGUMENT", field + ": " + name + "= is missing");
  }
  return {cell(fields, "normal", field), cell(fields, "reduce", field)};
}

std::string genotypeText(const Genotype& genotype) { return cellText(genotype.normal, "normal") + ";" + cellText(genotype.reduce, "reduce"); }

}  // namespace bilevel::core::models::darts
