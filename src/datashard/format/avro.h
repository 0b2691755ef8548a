// A small Avro codec: binary encoding, schemas parsed from JSON, a generic value
// tree and object container files (Avro spec "Binary Encoding", "Object
// Container Files").
//
// It exists because Iceberg manifests need things stock C Avro cannot write
// (field-id / element-id attributes, arbitrary header metadata), and because
// reading must follow the *writer's* schema: Java and PyIceberg order fields
// differently and add fields, so readers decode with the schema stored in the
// file and then look fields up by Iceberg field id. Every length and count read
// from input is checked against the bytes that remain, so malformed files yield
// CorruptData, never a crash or an allocation the input cannot justify.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "datashard/status.h"

namespace datashard::format {

// Block compression written by our container writer. Readers also accept
// "snappy" and "zstandard" (Arrow's codecs) from foreign writers.
enum class AvroCodec { kNull, kDeflate };

namespace avro {

// ---------------------------------------------------------------------------
// Binary primitives

class Encoder {
 public:
  void WriteLong(int64_t value);  // zigzag varint
  void WriteInt(int32_t value) { WriteLong(value); }
  void WriteBoolean(bool value) { buffer_.push_back(value ? '\x01' : '\x00'); }
  void WriteFloat(float value);             // 4 bytes little-endian
  void WriteDouble(double value);           // 8 bytes little-endian
  void WriteBytes(std::string_view bytes);  // long length + raw bytes (also strings)
  void WriteFixed(std::string_view bytes) { buffer_.append(bytes); }

  const std::string& buffer() const { return buffer_; }
  std::string& mutable_buffer() { return buffer_; }

 private:
  std::string buffer_;
};

// Reads primitives from a borrowed buffer; every read is bounds-checked.
class Decoder {
 public:
  explicit Decoder(std::string_view data) : data_(data) {}

  Result<int64_t> ReadLong();
  Result<int32_t> ReadInt();  // a long that must fit in 32 bits
  Result<bool> ReadBoolean();
  Result<float> ReadFloat();
  Result<double> ReadDouble();
  // Views into the decoder's buffer: valid as long as that buffer is.
  Result<std::string_view> ReadBytes();
  Result<std::string_view> ReadFixed(int64_t size);
  // A block count of an array or map: negative counts are followed by a byte
  // size, which is read and checked. Returns |count|; 0 ends the sequence.
  Result<int64_t> ReadBlockCount();

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// Schemas

enum class Type {
  kNull,
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kBytes,
  kString,  // primitives
  kRecord,
  kArray,
  kMap,
  kUnion,
  kFixed,  // complex
};

const char* TypeName(Type type);

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Field {
  std::string name;
  NodePtr type;
  std::optional<int32_t> field_id;  // Iceberg "field-id"
};

// One schema node. Named types referenced again by name share one Node.
struct Node {
  Type type = Type::kNull;
  std::string name;                   // full name of a record or fixed
  std::string logical_type;           // "date", "timestamp-micros", "decimal", "map", ...
  int32_t precision = 0;              // decimal
  int32_t scale = 0;                  // decimal
  std::optional<bool> adjust_to_utc;  // Iceberg's timestamp attribute
  int64_t size = 0;                   // fixed
  std::vector<Field> fields;          // record
  NodePtr items;                      // array items, map values
  std::optional<int32_t> element_id;  // array "element-id"
  std::optional<int32_t> key_id;      // map "key-id"
  std::optional<int32_t> value_id;    // map "value-id"
  std::vector<NodePtr> branches;      // union
  // The fewest bytes one value can encode to (saturating); bounds how many
  // items a count read from input may claim.
  uint64_t min_encoded_size = 0;

  // Index into `fields` of the field with this Iceberg field id, or -1.
  int FindFieldById(int32_t field_id) const;
  int FindFieldByName(std::string_view field_name) const;
};

// Parses Avro schema JSON. Rejects enums, recursive types, unknown type names
// and nesting deeper than 64 levels with CorruptData (a schema comes from a
// file header, so a bad one means a bad file).
Result<NodePtr> ParseSchema(std::string_view text);

// ---------------------------------------------------------------------------
// Values

enum class ValueKind { kNull, kBoolean, kInt, kLong, kFloat, kDouble, kBytes, kString, kFixed, kArray, kMap, kRecord };

const char* ValueKindName(ValueKind kind);

// A decoded (or to-be-encoded) datum. Records hold their fields by position in
// the schema that decoded them; maps hold parallel keys and values.
class Value {
 public:
  Value() = default;
  static Value Null() { return Value(); }
  static Value Boolean(bool v);
  static Value Int(int32_t v);
  static Value Long(int64_t v);
  static Value Float(float v);
  static Value Double(double v);
  static Value Bytes(std::string v);
  static Value String(std::string v);
  static Value Fixed(std::string v);
  static Value Array(std::vector<Value> items);
  static Value Map(std::vector<std::string> keys, std::vector<Value> values);
  static Value Record(std::vector<Value> fields);

  ValueKind kind() const { return kind_; }
  bool is_null() const { return kind_ == ValueKind::kNull; }
  bool boolean() const { return integer_ != 0; }
  int32_t int32() const { return static_cast<int32_t>(integer_); }
  int64_t int64() const { return integer_; }           // int or long
  double real() const { return real_; }                // float or double
  const std::string& bytes() const { return bytes_; }  // bytes, string, fixed
  // Array elements, record fields or map values.
  const std::vector<Value>& items() const { return items_; }
  std::vector<Value>& mutable_items() { return items_; }
  const std::vector<std::string>& keys() const { return keys_; }

  // The union branch this value was decoded from, or -1 outside a union. The
  // encoder uses it when set and otherwise picks the first matching branch.
  int32_t branch() const { return branch_; }
  void set_branch(int32_t branch) { branch_ = branch; }

 private:
  ValueKind kind_ = ValueKind::kNull;
  int64_t integer_ = 0;
  double real_ = 0;
  std::string bytes_;
  std::vector<Value> items_;
  std::vector<std::string> keys_;
  int32_t branch_ = -1;
};

// The schema of `value` when `node` may be a union that `value` was decoded from.
const Node& ResolveBranch(const Node& node, const Value& value);

// Encodes `value` as `schema`; a mismatch is InvalidArgument naming the path.
Status EncodeValue(const Node& schema, const Value& value, Encoder* encoder);
// Decodes one datum written with `schema`.
Result<Value> DecodeValue(const Node& schema, Decoder* decoder);

// ---------------------------------------------------------------------------
// Object container files

struct ContainerFile {
  NodePtr schema;                               // the writer schema from the header
  std::map<std::string, std::string> metadata;  // all header keys, avro.* included
  std::vector<Value> records;
};

struct ReadOptions {
  // A block that decompresses past this is rejected (decompression bombs).
  int64_t max_block_bytes = int64_t{1} << 30;
};

// `schema_json` is stored verbatim as avro.schema and must parse to `schema`'s
// shape; `metadata` keys must not start with "avro.". All records go into one
// block; with no records the file is the header alone, never an empty block.
Result<std::string> WriteContainerFile(std::string_view schema_json, const Node& schema,
                                       const std::vector<std::pair<std::string, std::string>>& metadata,
                                       const std::vector<Value>& records, AvroCodec codec);

Result<ContainerFile> ReadContainerFile(std::string_view bytes, const ReadOptions& options = {});

}  // namespace avro
}  // namespace datashard::format
