#include "datashard/format/avro.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include <arrow/util/compression.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "datashard/util/uuid.h"

namespace datashard::format::avro {
namespace {

using nlohmann::json;

constexpr std::string_view kMagic("Obj\x01", 4);
constexpr size_t kSyncSize = 16;
// Blocks smaller than this are written uncompressed (see WriteContainerFile).
constexpr size_t kMinDeflateBytes = 4096;
constexpr int kMaxSchemaDepth = 64;
// Items that encode to zero bytes (nulls, empty records) are not paid for by
// input, so a file may only claim this many of them in total.
constexpr int64_t kMaxFreeItems = int64_t{1} << 20;
// Counts are only trusted this far ahead: a truncated block claiming many
// items fails before its vector grows much.
constexpr int64_t kMaxReserve = 4096;
constexpr uint64_t kSizeSaturation = uint64_t{1} << 40;

uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return std::min(a + b, kSizeSaturation); }

}  // namespace

// ---------------------------------------------------------------------------
// Binary primitives

void Encoder::WriteLong(int64_t value) {
  uint64_t zigzag = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  while (zigzag >= 0x80) {
    buffer_.push_back(static_cast<char>((zigzag & 0x7f) | 0x80));
    zigzag >>= 7;
  }
  buffer_.push_back(static_cast<char>(zigzag));
}

void Encoder::WriteFloat(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  for (int i = 0; i < 4; ++i) buffer_.push_back(static_cast<char>(bits >> (8 * i)));
}

void Encoder::WriteDouble(double value) {
  uint64_t bits = std::bit_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) buffer_.push_back(static_cast<char>(bits >> (8 * i)));
}

void Encoder::WriteBytes(std::string_view bytes) {
  WriteLong(static_cast<int64_t>(bytes.size()));
  buffer_.append(bytes);
}

Result<int64_t> Decoder::ReadLong() {
  uint64_t raw = 0;
  for (int i = 0; i < 10; ++i) {
    if (pos_ >= data_.size()) return CorruptData("Avro varint truncated at byte ", pos_);
    auto byte = static_cast<uint8_t>(data_[pos_++]);
    // The 10th byte holds only bit 63; anything more overflows or runs past 10 bytes.
    if (i == 9 && byte > 1) return CorruptData("Avro varint longer than 64 bits at byte ", pos_ - 1);
    raw |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) return static_cast<int64_t>((raw >> 1) ^ (0 - (raw & 1)));
  }
  return CorruptData("Avro varint longer than 10 bytes at byte ", pos_);
}

Result<int32_t> Decoder::ReadInt() {
  ARROW_ASSIGN_OR_RAISE(int64_t value, ReadLong());
  if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max()) {
    return CorruptData("Avro int out of 32-bit range: ", value, " before byte ", pos_);
  }
  return static_cast<int32_t>(value);
}

Result<bool> Decoder::ReadBoolean() {
  if (pos_ >= data_.size()) return CorruptData("Avro boolean truncated at byte ", pos_);
  auto byte = static_cast<uint8_t>(data_[pos_]);
  if (byte > 1) return CorruptData("Avro boolean byte ", static_cast<int>(byte), " at byte ", pos_);
  ++pos_;
  return byte == 1;
}

Result<float> Decoder::ReadFloat() {
  ARROW_ASSIGN_OR_RAISE(std::string_view raw, ReadFixed(4));
  uint32_t bits = 0;
  for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(static_cast<uint8_t>(raw[i])) << (8 * i);
  return std::bit_cast<float>(bits);
}

Result<double> Decoder::ReadDouble() {
  ARROW_ASSIGN_OR_RAISE(std::string_view raw, ReadFixed(8));
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(raw[i])) << (8 * i);
  return std::bit_cast<double>(bits);
}

Result<std::string_view> Decoder::ReadBytes() {
  size_t start = pos_;
  ARROW_ASSIGN_OR_RAISE(int64_t length, ReadLong());
  if (length < 0) return CorruptData("negative Avro bytes length ", length, " at byte ", start);
  if (static_cast<uint64_t>(length) > remaining()) {
    return CorruptData("Avro bytes length ", length, " at byte ", start, " exceeds the ", remaining(), " bytes left");
  }
  return ReadFixed(length);
}

Result<std::string_view> Decoder::ReadFixed(int64_t size) {
  if (size < 0 || static_cast<uint64_t>(size) > remaining()) {
    return CorruptData("Avro value of ", size, " bytes at byte ", pos_, " runs past the end (", remaining(),
                       " bytes left)");
  }
  std::string_view out = data_.substr(pos_, static_cast<size_t>(size));
  pos_ += static_cast<size_t>(size);
  return out;
}

Result<int64_t> Decoder::ReadBlockCount() {
  size_t start = pos_;
  ARROW_ASSIGN_OR_RAISE(int64_t count, ReadLong());
  if (count >= 0) return count;
  if (count == std::numeric_limits<int64_t>::min()) return CorruptData("Avro block count overflows at byte ", start);
  ARROW_ASSIGN_OR_RAISE(int64_t byte_size, ReadLong());
  if (byte_size < 0 || static_cast<uint64_t>(byte_size) > remaining()) {
    return CorruptData("Avro block byte size ", byte_size, " at byte ", start, " is invalid (", remaining(),
                       " bytes left)");
  }
  return -count;
}

// ---------------------------------------------------------------------------
// Schemas

const char* TypeName(Type type) {
  switch (type) {
    case Type::kNull: return "null";
    case Type::kBoolean: return "boolean";
    case Type::kInt: return "int";
    case Type::kLong: return "long";
    case Type::kFloat: return "float";
    case Type::kDouble: return "double";
    case Type::kBytes: return "bytes";
    case Type::kString: return "string";
    case Type::kRecord: return "record";
    case Type::kArray: return "array";
    case Type::kMap: return "map";
    case Type::kUnion: return "union";
    case Type::kFixed: return "fixed";
  }
  return "?";
}

int Node::FindFieldById(int32_t field_id) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].field_id == field_id) return static_cast<int>(i);
  }
  return -1;
}

int Node::FindFieldByName(std::string_view field_name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == field_name) return static_cast<int>(i);
  }
  return -1;
}

namespace {

std::optional<Type> PrimitiveType(std::string_view name) {
  static const std::pair<std::string_view, Type> kPrimitives[] = {
      {"null", Type::kNull},   {"boolean", Type::kBoolean}, {"int", Type::kInt},     {"long", Type::kLong},
      {"float", Type::kFloat}, {"double", Type::kDouble},   {"bytes", Type::kBytes}, {"string", Type::kString}};
  for (const auto& [text, type] : kPrimitives) {
    if (text == name) return type;
  }
  return std::nullopt;
}

uint64_t MinEncodedSize(const Node& node) {
  switch (node.type) {
    case Type::kNull: return 0;
    case Type::kFloat: return 4;
    case Type::kDouble: return 8;
    case Type::kFixed: return std::min(static_cast<uint64_t>(node.size), kSizeSaturation);
    case Type::kRecord: {
      uint64_t total = 0;
      for (const auto& field : node.fields) total = SaturatingAdd(total, field.type->min_encoded_size);
      return total;
    }
    case Type::kUnion: {
      uint64_t smallest = kSizeSaturation;
      for (const auto& branch : node.branches) smallest = std::min(smallest, branch->min_encoded_size);
      return SaturatingAdd(1, smallest);
    }
    default: return 1;  // boolean, varints, length-prefixed, block-terminated
  }
}

// Reads an optional integer attribute such as "field-id".
Result<std::optional<int32_t>> IntAttribute(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (!it->is_number_integer() || it->get<int64_t>() < std::numeric_limits<int32_t>::min() ||
      it->get<int64_t>() > std::numeric_limits<int32_t>::max()) {
    return CorruptData("Avro schema attribute \"", key, "\" is not a 32-bit integer: ", it->dump());
  }
  return static_cast<int32_t>(it->get<int64_t>());
}

class SchemaParser {
 public:
  Result<NodePtr> Parse(const json& j, const std::string& space, int depth) {
    if (depth > kMaxSchemaDepth) return CorruptData("Avro schema nested deeper than ", kMaxSchemaDepth, " levels");
    if (j.is_string()) return ParseName(j.get<std::string>(), space);
    if (j.is_array()) return ParseUnion(j, space, depth);
    if (!j.is_object()) return CorruptData("Avro schema element is not a name, union or object: ", Head(j));
    auto type_it = j.find("type");
    if (type_it == j.end()) return CorruptData("Avro schema object without \"type\": ", Head(j));
    if (!type_it->is_string()) return Parse(*type_it, space, depth + 1);
    const std::string type_name = type_it->get<std::string>();

    auto node = std::make_shared<Node>();
    if (auto primitive = PrimitiveType(type_name)) {
      node->type = *primitive;
    } else if (type_name == "record" || type_name == "error") {
      return ParseRecord(j, space, depth);
    } else if (type_name == "array") {
      node->type = Type::kArray;
      auto items = j.find("items");
      if (items == j.end()) return CorruptData("Avro array schema without \"items\"");
      ARROW_ASSIGN_OR_RAISE(node->items, Parse(*items, space, depth + 1));
      ARROW_ASSIGN_OR_RAISE(node->element_id, IntAttribute(j, "element-id"));
    } else if (type_name == "map") {
      node->type = Type::kMap;
      auto values = j.find("values");
      if (values == j.end()) return CorruptData("Avro map schema without \"values\"");
      ARROW_ASSIGN_OR_RAISE(node->items, Parse(*values, space, depth + 1));
      ARROW_ASSIGN_OR_RAISE(node->key_id, IntAttribute(j, "key-id"));
      ARROW_ASSIGN_OR_RAISE(node->value_id, IntAttribute(j, "value-id"));
    } else if (type_name == "fixed") {
      node->type = Type::kFixed;
      auto size = j.find("size");
      if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0 ||
          size->get<int64_t>() > std::numeric_limits<int32_t>::max()) {
        return CorruptData("Avro fixed schema without a valid \"size\": ", Head(j));
      }
      node->size = size->get<int64_t>();
    } else if (type_name == "enum") {
      return CorruptData("Avro enum types are not supported (in ", Head(j), ")");
    } else {
      return ParseName(type_name, space);  // {"type": "SomeNamedType"}
    }

    if (auto logical = j.find("logicalType"); logical != j.end() && logical->is_string()) {
      node->logical_type = logical->get<std::string>();
    }
    ARROW_ASSIGN_OR_RAISE(auto precision, IntAttribute(j, "precision"));
    ARROW_ASSIGN_OR_RAISE(auto scale, IntAttribute(j, "scale"));
    node->precision = precision.value_or(0);
    node->scale = scale.value_or(0);
    if (auto utc = j.find("adjust-to-utc"); utc != j.end() && utc->is_boolean()) node->adjust_to_utc = utc->get<bool>();
    node->min_encoded_size = MinEncodedSize(*node);
    if (node->type == Type::kFixed) {
      ARROW_ASSIGN_OR_RAISE(node->name, DefineName(j, space));
      named_[node->name] = node;
    }
    return NodePtr(node);
  }

 private:
  static std::string Head(const json& j) {
    std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
    return text.size() > 80 ? text.substr(0, 80) + "..." : text;
  }

  static std::string FullName(const std::string& name, const std::string& space) {
    if (name.find('.') != std::string::npos || space.empty()) return name;
    return space + "." + name;
  }

  // The full name a record or fixed defines; refuses redefinitions, which Java
  // rejects and which would make references ambiguous.
  Result<std::string> DefineName(const json& j, const std::string& space) {
    auto name = j.find("name");
    if (name == j.end() || !name->is_string() || name->get<std::string>().empty()) {
      return CorruptData("named Avro type without a \"name\": ", Head(j));
    }
    std::string own_space = space;
    if (auto ns = j.find("namespace"); ns != j.end() && ns->is_string()) own_space = ns->get<std::string>();
    std::string full = FullName(name->get<std::string>(), own_space);
    if (PrimitiveType(full) || named_.count(full) || in_progress_.count(full)) {
      return CorruptData("Avro type name \"", full, "\" is defined twice or shadows a primitive");
    }
    return full;
  }

  static std::string SpaceOf(const std::string& full_name) {
    size_t dot = full_name.rfind('.');
    return dot == std::string::npos ? std::string() : full_name.substr(0, dot);
  }

  Result<NodePtr> ParseName(const std::string& name, const std::string& space) {
    auto node = std::make_shared<Node>();
    if (auto primitive = PrimitiveType(name)) {
      node->type = *primitive;
      node->min_encoded_size = MinEncodedSize(*node);
      return NodePtr(node);
    }
    for (const std::string& candidate : {FullName(name, space), name}) {
      if (in_progress_.count(candidate)) return CorruptData("recursive Avro type \"", candidate, "\" is not supported");
      if (auto it = named_.find(candidate); it != named_.end()) return it->second;
    }
    return CorruptData("unknown Avro type \"", name, "\"");
  }

  Result<NodePtr> ParseUnion(const json& j, const std::string& space, int depth) {
    auto node = std::make_shared<Node>();
    node->type = Type::kUnion;
    if (j.empty()) return CorruptData("empty Avro union");
    for (const auto& branch_json : j) {
      ARROW_ASSIGN_OR_RAISE(NodePtr branch, Parse(branch_json, space, depth + 1));
      if (branch->type == Type::kUnion) return CorruptData("Avro union directly inside a union");
      node->branches.push_back(std::move(branch));
    }
    node->min_encoded_size = MinEncodedSize(*node);
    return NodePtr(node);
  }

  Result<NodePtr> ParseRecord(const json& j, const std::string& space, int depth) {
    auto node = std::make_shared<Node>();
    node->type = Type::kRecord;
    ARROW_ASSIGN_OR_RAISE(node->name, DefineName(j, space));
    in_progress_.insert(node->name);
    auto fields = j.find("fields");
    if (fields == j.end() || !fields->is_array()) return CorruptData("Avro record \"", node->name, "\" without fields");
    const std::string inner_space = SpaceOf(node->name);
    std::set<std::string> seen;
    for (const auto& field_json : *fields) {
      if (!field_json.is_object()) return CorruptData("Avro record \"", node->name, "\" has a malformed field");
      auto name = field_json.find("name");
      auto type = field_json.find("type");
      if (name == field_json.end() || !name->is_string() || type == field_json.end()) {
        return CorruptData("Avro record \"", node->name, "\" has a field without name or type");
      }
      Field field;
      field.name = name->get<std::string>();
      if (!seen.insert(field.name).second) {
        return CorruptData("Avro record \"", node->name, "\" repeats field \"", field.name, "\"");
      }
      ARROW_ASSIGN_OR_RAISE(field.type, Parse(*type, inner_space, depth + 1));
      ARROW_ASSIGN_OR_RAISE(field.field_id, IntAttribute(field_json, "field-id"));
      node->fields.push_back(std::move(field));
    }
    in_progress_.erase(node->name);
    node->min_encoded_size = MinEncodedSize(*node);
    named_[node->name] = node;
    return NodePtr(node);
  }

  std::map<std::string, NodePtr> named_;
  std::set<std::string> in_progress_;
};

}  // namespace

Result<NodePtr> ParseSchema(std::string_view text) {
  // Every manifest and manifest list a commit reads or writes carries one of
  // a handful of schema texts; parsing them again is most of a small
  // commit's Avro cost. Parsed nodes are immutable, so they are shared.
  static std::mutex mutex;
  static std::map<std::string, NodePtr, std::less<>> cache;
  constexpr size_t kMaxCachedSchemas = 32;
  constexpr size_t kMaxCachedSchemaBytes = size_t{64} << 10;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(text); it != cache.end()) return it->second;
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return CorruptData("Avro schema is not valid JSON");
  ARROW_ASSIGN_OR_RAISE(NodePtr root, SchemaParser().Parse(j, "", 0));
  if (text.size() <= kMaxCachedSchemaBytes) {
    std::lock_guard<std::mutex> lock(mutex);
    if (cache.size() >= kMaxCachedSchemas) cache.clear();
    cache.emplace(std::string(text), root);
  }
  return root;
}

// ---------------------------------------------------------------------------
// Values

#define DATASHARD_AVRO_FACTORY(Name, Kind, Arg, Member) \
  Value Value::Name(Arg v) {                            \
    Value out;                                          \
    out.kind_ = ValueKind::Kind;                        \
    out.Member = std::move(v);                          \
    return out;                                         \
  }
DATASHARD_AVRO_FACTORY(Boolean, kBoolean, bool, integer_)
DATASHARD_AVRO_FACTORY(Int, kInt, int32_t, integer_)
DATASHARD_AVRO_FACTORY(Long, kLong, int64_t, integer_)
DATASHARD_AVRO_FACTORY(Float, kFloat, float, real_)
DATASHARD_AVRO_FACTORY(Double, kDouble, double, real_)
DATASHARD_AVRO_FACTORY(Bytes, kBytes, std::string, bytes_)
DATASHARD_AVRO_FACTORY(String, kString, std::string, bytes_)
DATASHARD_AVRO_FACTORY(Fixed, kFixed, std::string, bytes_)
#undef DATASHARD_AVRO_FACTORY

Value Value::Array(std::vector<Value> items) {
  Value out;
  out.kind_ = ValueKind::kArray;
  out.items_ = std::move(items);
  return out;
}

Value Value::Record(std::vector<Value> fields) {
  Value out;
  out.kind_ = ValueKind::kRecord;
  out.items_ = std::move(fields);
  return out;
}

const char* ValueKindName(ValueKind kind) {
  static const char* const kNames[] = {"null",  "boolean", "int",   "long",  "float", "double",
                                       "bytes", "string",  "fixed", "array", "map",   "record"};
  return kNames[static_cast<int>(kind)];
}

Value Value::Map(std::vector<std::string> keys, std::vector<Value> values) {
  Value out;
  out.kind_ = ValueKind::kMap;
  out.keys_ = std::move(keys);
  out.items_ = std::move(values);
  return out;
}

const Node& ResolveBranch(const Node& node, const Value& value) {
  if (node.type == Type::kUnion && value.branch() >= 0 && static_cast<size_t>(value.branch()) < node.branches.size()) {
    return *node.branches[value.branch()];
  }
  return node;
}

namespace {

// Whether `value` can be written as `node` (shallow; used to pick union branches).
bool Matches(const Node& node, const Value& value) {
  switch (node.type) {
    case Type::kNull: return value.kind() == ValueKind::kNull;
    case Type::kBoolean: return value.kind() == ValueKind::kBoolean;
    case Type::kInt: return value.kind() == ValueKind::kInt;
    case Type::kLong: return value.kind() == ValueKind::kLong || value.kind() == ValueKind::kInt;
    case Type::kFloat: return value.kind() == ValueKind::kFloat;
    case Type::kDouble: return value.kind() == ValueKind::kDouble || value.kind() == ValueKind::kFloat;
    case Type::kBytes: return value.kind() == ValueKind::kBytes;
    case Type::kString: return value.kind() == ValueKind::kString;
    case Type::kFixed:
      return value.kind() == ValueKind::kFixed && static_cast<int64_t>(value.bytes().size()) == node.size;
    case Type::kArray: return value.kind() == ValueKind::kArray;
    case Type::kMap: return value.kind() == ValueKind::kMap && value.keys().size() == value.items().size();
    case Type::kRecord: return value.kind() == ValueKind::kRecord && value.items().size() == node.fields.size();
    case Type::kUnion: return false;
  }
  return false;
}

Status Mismatch(const Node& node, const std::string& where) {
  return InvalidArgument("Avro value does not match schema type ", TypeName(node.type),
                         node.name.empty() ? "" : " " + node.name, where.empty() ? "" : " at " + where);
}

Status Encode(const Node& node, const Value& value, Encoder* encoder, const std::string& where) {
  if (node.type == Type::kUnion) {
    int32_t branch = value.branch();
    if (branch < 0) {
      for (size_t i = 0; i < node.branches.size() && branch < 0; ++i) {
        if (Matches(*node.branches[i], value)) branch = static_cast<int32_t>(i);
      }
    }
    if (branch < 0 || static_cast<size_t>(branch) >= node.branches.size()) return Mismatch(node, where);
    encoder->WriteLong(branch);
    return Encode(*node.branches[branch], value, encoder, where);
  }
  if (!Matches(node, value)) return Mismatch(node, where);
  switch (node.type) {
    case Type::kNull: return Status::OK();
    case Type::kBoolean: encoder->WriteBoolean(value.boolean()); return Status::OK();
    case Type::kInt:
    case Type::kLong: encoder->WriteLong(value.int64()); return Status::OK();
    case Type::kFloat: encoder->WriteFloat(static_cast<float>(value.real())); return Status::OK();
    case Type::kDouble: encoder->WriteDouble(value.real()); return Status::OK();
    case Type::kBytes:
    case Type::kString: encoder->WriteBytes(value.bytes()); return Status::OK();
    case Type::kFixed: encoder->WriteFixed(value.bytes()); return Status::OK();
    case Type::kArray:
    case Type::kMap: {
      // One block holding every item, then the 0 terminator (what Java writes).
      if (!value.items().empty()) encoder->WriteLong(static_cast<int64_t>(value.items().size()));
      for (size_t i = 0; i < value.items().size(); ++i) {
        if (node.type == Type::kMap) encoder->WriteBytes(value.keys()[i]);
        ARROW_RETURN_NOT_OK(Encode(*node.items, value.items()[i], encoder, where + "[" + std::to_string(i) + "]"));
      }
      encoder->WriteLong(0);
      return Status::OK();
    }
    case Type::kRecord:
      for (size_t i = 0; i < node.fields.size(); ++i) {
        const std::string child = where.empty() ? node.fields[i].name : where + "." + node.fields[i].name;
        ARROW_RETURN_NOT_OK(Encode(*node.fields[i].type, value.items()[i], encoder, child));
      }
      return Status::OK();
    case Type::kUnion: break;
  }
  return Mismatch(node, where);
}

// Caps allocations for counts read from input: each claimed item must be paid
// for by remaining input bytes, or by the shared allowance of free items.
class CountGuard {
 public:
  Status Check(int64_t count, uint64_t item_size, size_t remaining, const char* what) {
    if (item_size > 0) {
      if (static_cast<uint64_t>(count) > remaining / item_size) {
        return CorruptData("Avro ", what, " claims ", count, " items but only ", remaining, " bytes remain");
      }
      return Status::OK();
    }
    free_items_left_ -= count;
    if (free_items_left_ < 0) return CorruptData("Avro ", what, " claims too many zero-size items");
    return Status::OK();
  }

 private:
  int64_t free_items_left_ = kMaxFreeItems;
};

Result<Value> Decode(const Node& node, Decoder* decoder, CountGuard* guard) {
  switch (node.type) {
    case Type::kNull: return Value::Null();
    case Type::kBoolean: {
      ARROW_ASSIGN_OR_RAISE(bool v, decoder->ReadBoolean());
      return Value::Boolean(v);
    }
    case Type::kInt: {
      ARROW_ASSIGN_OR_RAISE(int32_t v, decoder->ReadInt());
      return Value::Int(v);
    }
    case Type::kLong: {
      ARROW_ASSIGN_OR_RAISE(int64_t v, decoder->ReadLong());
      return Value::Long(v);
    }
    case Type::kFloat: {
      ARROW_ASSIGN_OR_RAISE(float v, decoder->ReadFloat());
      return Value::Float(v);
    }
    case Type::kDouble: {
      ARROW_ASSIGN_OR_RAISE(double v, decoder->ReadDouble());
      return Value::Double(v);
    }
    case Type::kBytes:
    case Type::kString: {
      ARROW_ASSIGN_OR_RAISE(std::string_view v, decoder->ReadBytes());
      return node.type == Type::kBytes ? Value::Bytes(std::string(v)) : Value::String(std::string(v));
    }
    case Type::kFixed: {
      ARROW_ASSIGN_OR_RAISE(std::string_view v, decoder->ReadFixed(node.size));
      return Value::Fixed(std::string(v));
    }
    case Type::kArray:
    case Type::kMap: {
      const bool is_map = node.type == Type::kMap;
      const uint64_t item_size = is_map ? SaturatingAdd(1, node.items->min_encoded_size) : node.items->min_encoded_size;
      std::vector<Value> items;
      std::vector<std::string> keys;
      while (true) {
        ARROW_ASSIGN_OR_RAISE(int64_t count, decoder->ReadBlockCount());
        if (count == 0) break;
        ARROW_RETURN_NOT_OK(guard->Check(count, item_size, decoder->remaining(), is_map ? "map block" : "array block"));
        items.reserve(items.size() + static_cast<size_t>(std::min<int64_t>(count, kMaxReserve)));
        for (int64_t i = 0; i < count; ++i) {
          if (is_map) {
            ARROW_ASSIGN_OR_RAISE(std::string_view key, decoder->ReadBytes());
            keys.emplace_back(key);
          }
          ARROW_ASSIGN_OR_RAISE(Value item, Decode(*node.items, decoder, guard));
          items.push_back(std::move(item));
        }
      }
      return is_map ? Value::Map(std::move(keys), std::move(items)) : Value::Array(std::move(items));
    }
    case Type::kRecord: {
      std::vector<Value> fields;
      fields.reserve(node.fields.size());
      for (const auto& field : node.fields) {
        ARROW_ASSIGN_OR_RAISE(Value v, Decode(*field.type, decoder, guard));
        fields.push_back(std::move(v));
      }
      return Value::Record(std::move(fields));
    }
    case Type::kUnion: {
      size_t start = decoder->position();
      ARROW_ASSIGN_OR_RAISE(int64_t index, decoder->ReadLong());
      if (index < 0 || static_cast<uint64_t>(index) >= node.branches.size()) {
        return CorruptData("Avro union branch ", index, " at byte ", start, " out of ", node.branches.size());
      }
      ARROW_ASSIGN_OR_RAISE(Value v, Decode(*node.branches[index], decoder, guard));
      v.set_branch(static_cast<int32_t>(index));
      return v;
    }
  }
  return CorruptData("unknown Avro schema type");
}

}  // namespace

Status EncodeValue(const Node& schema, const Value& value, Encoder* encoder) {
  return Encode(schema, value, encoder, "");
}

Result<Value> DecodeValue(const Node& schema, Decoder* decoder) {
  CountGuard guard;
  return Decode(schema, decoder, &guard);
}

// ---------------------------------------------------------------------------
// Object container files

namespace {

enum class ReadCodec { kNull, kDeflate, kSnappy, kZstandard };

Result<std::string> Deflate(std::string_view input) {
  if (input.size() > std::numeric_limits<uInt>::max()) return InvalidArgument("Avro block too large to deflate");
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return IOError("zlib deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(input.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) return IOError("zlib deflate failed with code ", rc);
  return out;
}

// Grows `out` geometrically up to one byte past `limit`, so reaching
// limit + 1 bytes proves the block is too large without allocating more.
Status GrowOutput(std::string* out, size_t produced, int64_t limit) {
  if (produced > static_cast<uint64_t>(limit)) {
    return CorruptData("Avro block decompresses to more than ", limit, " bytes");
  }
  size_t target = std::min<uint64_t>(std::max<size_t>(out->size() * 2, 64 * 1024), static_cast<uint64_t>(limit) + 1);
  out->resize(target);
  return Status::OK();
}

// Raw RFC 1951 (no zlib header). Stops at the end of the deflate stream and
// ignores what follows: PyIceberg leaves zlib's 4-byte Adler-32 minus one byte.
Status Inflate(std::string_view input, int64_t limit, std::string* out) {
  z_stream stream{};
  if (inflateInit2(&stream, -15) != Z_OK) return IOError("zlib inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> cleanup(&stream, inflateEnd);
  size_t consumed = 0;
  out->clear();
  while (true) {
    if (stream.total_out == out->size()) ARROW_RETURN_NOT_OK(GrowOutput(out, stream.total_out, limit));
    if (stream.avail_in == 0) {
      size_t chunk = std::min<size_t>(input.size() - consumed, std::numeric_limits<uInt>::max());
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data() + consumed));
      stream.avail_in = static_cast<uInt>(chunk);
      consumed += chunk;
    }
    size_t room = std::min<size_t>(out->size() - stream.total_out, std::numeric_limits<uInt>::max());
    stream.next_out = reinterpret_cast<Bytef*>(out->data() + stream.total_out);
    stream.avail_out = static_cast<uInt>(room);
    int rc = inflate(&stream, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && stream.avail_in == 0 && consumed == input.size()) {
      return CorruptData("deflate stream in Avro block is truncated");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return CorruptData("deflate stream in Avro block is corrupt: ", stream.msg ? stream.msg : "zlib error");
    }
  }
  if (stream.total_out > static_cast<uint64_t>(limit)) {
    return CorruptData("Avro block decompresses to more than ", limit, " bytes");
  }
  out->resize(stream.total_out);
  return Status::OK();
}

// Avro's snappy framing: raw snappy data, then a big-endian CRC32 of the output.
Status Unsnappy(std::string_view input, int64_t limit, std::string* out) {
  if (input.size() < 4) return CorruptData("snappy Avro block shorter than its checksum");
  std::string_view data = input.substr(0, input.size() - 4);
  uint64_t length = 0;  // snappy's preamble: the uncompressed length as an unsigned varint
  for (size_t i = 0;; ++i) {
    if (i >= data.size() || i >= 5) return CorruptData("snappy Avro block has a bad length preamble");
    auto byte = static_cast<uint8_t>(data[i]);
    length |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) break;
  }
  if (length > static_cast<uint64_t>(limit)) {
    return CorruptData("Avro block decompresses to more than ", limit, " bytes");
  }
  auto codec = arrow::util::Codec::Create(arrow::Compression::SNAPPY);
  if (!codec.ok()) return CorruptData("Avro codec \"snappy\" is not available: ", codec.status().message());
  out->assign(length, '\0');
  auto written = (*codec)->Decompress(static_cast<int64_t>(data.size()), reinterpret_cast<const uint8_t*>(data.data()),
                                      static_cast<int64_t>(length), reinterpret_cast<uint8_t*>(out->data()));
  if (!written.ok() || static_cast<uint64_t>(*written) != length) return CorruptData("snappy Avro block is corrupt");
  uint32_t expected = 0;
  for (size_t i = data.size(); i < input.size(); ++i) expected = (expected << 8) | static_cast<uint8_t>(input[i]);
  auto actual = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(out->data()), static_cast<uInt>(length)));
  if (expected != actual) return CorruptData("snappy Avro block fails its CRC32 check");
  return Status::OK();
}

Status Unzstd(std::string_view input, int64_t limit, std::string* out) {
  auto codec = arrow::util::Codec::Create(arrow::Compression::ZSTD);
  if (!codec.ok()) return CorruptData("Avro codec \"zstandard\" is not available: ", codec.status().message());
  auto decompressor = (*codec)->MakeDecompressor();
  if (!decompressor.ok()) return CorruptData("Avro codec \"zstandard\" is not available");
  out->clear();
  size_t produced = 0;
  size_t consumed = 0;
  while (true) {
    if (produced == out->size()) ARROW_RETURN_NOT_OK(GrowOutput(out, produced, limit));
    auto step = (*decompressor)
                    ->Decompress(static_cast<int64_t>(input.size() - consumed),
                                 reinterpret_cast<const uint8_t*>(input.data() + consumed),
                                 static_cast<int64_t>(out->size() - produced),
                                 reinterpret_cast<uint8_t*>(out->data() + produced));
    if (!step.ok()) return CorruptData("zstandard Avro block is corrupt: ", step.status().message());
    consumed += static_cast<size_t>(step->bytes_read);
    produced += static_cast<size_t>(step->bytes_written);
    if ((*decompressor)->IsFinished()) {
      if (consumed == input.size()) break;
      ARROW_RETURN_NOT_OK((*decompressor)->Reset());  // another frame follows
    } else if (step->bytes_read == 0 && step->bytes_written == 0 && produced < out->size()) {
      return CorruptData("zstandard Avro block is truncated");
    }
  }
  if (produced > static_cast<uint64_t>(limit)) {
    return CorruptData("Avro block decompresses to more than ", limit, " bytes");
  }
  out->resize(produced);
  return Status::OK();
}

Result<std::string_view> DecompressBlock(ReadCodec codec, std::string_view data, int64_t limit, std::string* storage) {
  switch (codec) {
    case ReadCodec::kNull: return data;
    case ReadCodec::kDeflate: ARROW_RETURN_NOT_OK(Inflate(data, limit, storage)); break;
    case ReadCodec::kSnappy: ARROW_RETURN_NOT_OK(Unsnappy(data, limit, storage)); break;
    case ReadCodec::kZstandard: ARROW_RETURN_NOT_OK(Unzstd(data, limit, storage)); break;
  }
  return std::string_view(*storage);
}

std::string RandomSync() {
  std::string sync(kSyncSize, '\0');
  for (size_t i = 0; i < kSyncSize; i += 8) {
    const uint64_t word = RandomBits();
    for (size_t j = 0; j < 8; ++j) sync[i + j] = static_cast<char>(word >> (8 * j));
  }
  return sync;
}

}  // namespace

Result<std::string> WriteContainerFile(std::string_view schema_json, const Node& schema,
                                       const std::vector<std::pair<std::string, std::string>>& metadata,
                                       const std::vector<Value>& records, AvroCodec codec) {
  Encoder block;
  for (const Value& record : records) ARROW_RETURN_NOT_OK(EncodeValue(schema, record, &block));
  std::string payload = std::move(block.mutable_buffer());
  // A small block (a one-file manifest, a short manifest list) would shrink by
  // a few hundred bytes at most, while setting up deflate costs more than
  // the rest of the encoding: it is stored plainly ("null" is a codec every
  // Avro reader must support).
  if (payload.size() < kMinDeflateBytes) codec = AvroCodec::kNull;

  Encoder encoder;
  encoder.WriteFixed(kMagic);
  encoder.WriteLong(static_cast<int64_t>(metadata.size() + 2));
  encoder.WriteBytes("avro.schema");
  encoder.WriteBytes(schema_json);
  encoder.WriteBytes("avro.codec");
  encoder.WriteBytes(codec == AvroCodec::kDeflate ? "deflate" : "null");
  std::set<std::string_view> keys;
  for (const auto& [key, value] : metadata) {
    if (key.starts_with("avro.")) return InvalidArgument("Avro metadata key \"", key, "\" is reserved");
    if (!keys.insert(key).second) return InvalidArgument("Avro metadata key \"", key, "\" given twice");
    encoder.WriteBytes(key);
    encoder.WriteBytes(value);
  }
  encoder.WriteLong(0);
  const std::string sync = RandomSync();
  encoder.WriteFixed(sync);
  if (records.empty()) return std::move(encoder.mutable_buffer());

  if (codec == AvroCodec::kDeflate) {
    ARROW_ASSIGN_OR_RAISE(payload, Deflate(payload));
  }
  encoder.WriteLong(static_cast<int64_t>(records.size()));
  encoder.WriteBytes(payload);
  encoder.WriteFixed(sync);
  return std::move(encoder.mutable_buffer());
}

Result<ContainerFile> ReadContainerFile(std::string_view bytes, const ReadOptions& options) {
  if (!bytes.starts_with(kMagic)) return CorruptData("not an Avro object container file (bad magic)");
  Decoder decoder(bytes.substr(kMagic.size()));
  ContainerFile file;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(int64_t count, decoder.ReadBlockCount());
    if (count == 0) break;
    if (static_cast<uint64_t>(count) > decoder.remaining() / 2) {
      return CorruptData("Avro header claims ", count, " metadata entries in ", decoder.remaining(), " bytes");
    }
    for (int64_t i = 0; i < count; ++i) {
      ARROW_ASSIGN_OR_RAISE(std::string_view key, decoder.ReadBytes());
      ARROW_ASSIGN_OR_RAISE(std::string_view value, decoder.ReadBytes());
      if (!file.metadata.emplace(std::string(key), std::string(value)).second) {
        return CorruptData("Avro header repeats metadata key \"", key, "\"");
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(std::string_view sync, decoder.ReadFixed(kSyncSize));

  auto schema_it = file.metadata.find("avro.schema");
  if (schema_it == file.metadata.end()) return CorruptData("Avro header has no avro.schema");
  ARROW_ASSIGN_OR_RAISE(file.schema, ParseSchema(schema_it->second));
  ReadCodec codec = ReadCodec::kNull;
  if (auto it = file.metadata.find("avro.codec"); it != file.metadata.end()) {
    if (it->second == "deflate") {
      codec = ReadCodec::kDeflate;
    } else if (it->second == "snappy") {
      codec = ReadCodec::kSnappy;
    } else if (it->second == "zstandard") {
      codec = ReadCodec::kZstandard;
    } else if (it->second != "null") {
      return CorruptData("unsupported Avro codec \"", it->second, "\"");
    }
  }

  CountGuard guard;
  std::string storage;
  for (int block_index = 0; !decoder.at_end(); ++block_index) {
    ARROW_ASSIGN_OR_RAISE(int64_t count, decoder.ReadLong());
    ARROW_ASSIGN_OR_RAISE(std::string_view data, decoder.ReadBytes());
    ARROW_ASSIGN_OR_RAISE(std::string_view marker, decoder.ReadFixed(kSyncSize));
    if (count < 0) return CorruptData("Avro block ", block_index, " has negative record count ", count);
    if (marker != sync) return CorruptData("Avro block ", block_index, " is not followed by the file's sync marker");
    ARROW_ASSIGN_OR_RAISE(std::string_view block, DecompressBlock(codec, data, options.max_block_bytes, &storage));
    Decoder block_decoder(block);
    ARROW_RETURN_NOT_OK(guard.Check(count, file.schema->min_encoded_size, block.size(), "file block"));
    file.records.reserve(file.records.size() + static_cast<size_t>(std::min<int64_t>(count, kMaxReserve)));
    for (int64_t i = 0; i < count; ++i) {
      ARROW_ASSIGN_OR_RAISE(Value record, Decode(*file.schema, &block_decoder, &guard));
      file.records.push_back(std::move(record));
    }
    if (!block_decoder.at_end()) {
      return CorruptData("Avro block ", block_index, " has ", block_decoder.remaining(), " bytes after its ", count,
                         " records");
    }
  }
  return file;
}

}  // namespace datashard::format::avro
