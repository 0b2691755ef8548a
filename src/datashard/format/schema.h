// JSON (de)serialisation of schemas (spec Appendix C). The model itself is
// public: include/datashard/schema.h.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "datashard/schema.h"

namespace datashard::format {

using datashard::NestedField;
using datashard::Schema;
using datashard::SchemaToJsonString;
using datashard::Type;
using datashard::TypeId;

// Appendix C JSON.
nlohmann::json SchemaToJson(const Schema& schema);
Result<Schema> SchemaFromJson(const nlohmann::json& json);

}  // namespace datashard::format
