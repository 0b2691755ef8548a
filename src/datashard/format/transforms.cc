#include "datashard/format/transforms.h"

#include <charconv>
#include <chrono>
#include <cstring>
#include <regex>

#include <arrow/api.h>
#include <arrow/util/decimal.h>

#include "datashard/format/arrow_schema.h"
#include "datashard/format/partition_spec.h"
#include "datashard/format/single_value.h"

namespace datashard::format {
namespace {

uint32_t Rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

std::string LongBytes(int64_t v) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}
std::string IntBytes(int32_t v) {
  std::string out(4, '\0');
  std::memcpy(out.data(), &v, 4);
  return out;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

// Civil calendar from days since 1970-01-01.
std::chrono::year_month_day CivilFromDays(int64_t days) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{days}}};
}

enum class Kind { kIdentity, kBucket, kTruncate, kYear, kMonth, kDay, kHour, kVoid };

struct Parsed {
  Kind kind;
  int64_t param = 0;
};

Result<Parsed> Parse(const std::string& transform) {
  static const std::regex kParam(R"(^(bucket|truncate)\[(\d{1,9})\]$)");
  std::smatch match;
  if (transform == "identity") return Parsed{Kind::kIdentity};
  if (transform == "year") return Parsed{Kind::kYear};
  if (transform == "month") return Parsed{Kind::kMonth};
  if (transform == "day") return Parsed{Kind::kDay};
  if (transform == "hour") return Parsed{Kind::kHour};
  if (transform == "void") return Parsed{Kind::kVoid};
  if (std::regex_match(transform, match, kParam)) {
    int64_t n = std::stoll(match[2].str());
    if (n <= 0) return SchemaError("transform ", transform, " needs a positive parameter");
    return Parsed{match[1].str() == "bucket" ? Kind::kBucket : Kind::kTruncate, n};
  }
  return SchemaError("unknown partition transform \"", transform, "\"");
}

// The value as the integer the temporal and numeric transforms work on:
// int/long/date as is, time/timestamp in microseconds.
int64_t IntegerAt(const arrow::Array& array, int64_t i) {
  switch (array.type_id()) {
    case arrow::Type::INT32: return static_cast<const arrow::Int32Array&>(array).Value(i);
    case arrow::Type::DATE32: return static_cast<const arrow::Date32Array&>(array).Value(i);
    case arrow::Type::INT64: return static_cast<const arrow::Int64Array&>(array).Value(i);
    case arrow::Type::TIME64: return static_cast<const arrow::Time64Array&>(array).Value(i);
    case arrow::Type::TIMESTAMP: return static_cast<const arrow::TimestampArray&>(array).Value(i);
    default: return 0;
  }
}

bool IsIntegerLike(TypeId id) {
  return id == TypeId::kInt || id == TypeId::kLong || id == TypeId::kDate || id == TypeId::kTime ||
         id == TypeId::kTimestamp || id == TypeId::kTimestampTz;
}

std::string BytesAt(const arrow::Array& array, int64_t i) {
  if (array.type_id() == arrow::Type::STRING || array.type_id() == arrow::Type::BINARY) {
    return std::string(static_cast<const arrow::BinaryArray&>(array).GetView(i));
  }
  if (array.type_id() == arrow::Type::FIXED_SIZE_BINARY) {
    return std::string(static_cast<const arrow::FixedSizeBinaryArray&>(array).GetView(i));
  }
  return "";
}

arrow::Decimal128 DecimalAt(const arrow::Array& array, int64_t i) {
  return arrow::Decimal128(static_cast<const arrow::Decimal128Array&>(array).GetValue(i));
}

std::string MinimalDecimalBytes(const arrow::Decimal128& value, const Type& type) {
  arrow::Decimal128Scalar scalar(value, arrow::decimal128(type.precision, type.scale));
  return *SerializeValue(type, scalar);
}

// Bytes hashed by bucket[N] for one value (spec Appendix B).
std::string BucketHashInput(const Type& type, const arrow::Array& array, int64_t i) {
  switch (type.id) {
    case TypeId::kInt:
    case TypeId::kLong:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: return LongBytes(IntegerAt(array, i));
    case TypeId::kDecimal: return MinimalDecimalBytes(DecimalAt(array, i), type);
    default: return BytesAt(array, i);  // string (UTF-8), binary, fixed, uuid (big-endian bytes)
  }
}

size_t Utf8Prefix(const std::string& s, int64_t code_points) {
  size_t pos = 0;
  for (int64_t n = 0; n < code_points && pos < s.size(); ++n) {
    unsigned char c = static_cast<unsigned char>(s[pos]);
    pos += c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
  }
  return std::min(pos, s.size());
}

}  // namespace

Result<std::vector<std::optional<std::string>>> ApplyTransform(const std::string& transform, const Type& type,
                                                               const arrow::Array& source) {
  ARROW_ASSIGN_OR_RAISE(Parsed t, Parse(transform));
  std::vector<std::optional<std::string>> out(static_cast<size_t>(source.length()));
  const bool has_time = type.id == TypeId::kTimestamp || type.id == TypeId::kTimestampTz;
  constexpr int64_t kMicrosPerHour = 3'600'000'000LL;
  constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;
  for (int64_t i = 0; i < source.length(); ++i) {
    if (source.IsNull(i) || t.kind == Kind::kVoid) continue;
    auto& slot = out[static_cast<size_t>(i)];
    switch (t.kind) {
      case Kind::kIdentity: {
        ARROW_ASSIGN_OR_RAISE(auto scalar, source.GetScalar(i));
        ARROW_ASSIGN_OR_RAISE(slot, SerializeValue(type, *scalar));
        break;
      }
      case Kind::kBucket: {
        const int32_t hash = Murmur3Hash32(BucketHashInput(type, source, i));
        slot = IntBytes(static_cast<int32_t>((hash & 0x7FFFFFFF) % t.param));
        break;
      }
      case Kind::kTruncate: {
        if (type.id == TypeId::kInt) {
          int64_t v = IntegerAt(source, i);
          slot = IntBytes(static_cast<int32_t>(v - FloorMod(v, t.param)));
        } else if (type.id == TypeId::kLong) {
          int64_t v = IntegerAt(source, i);
          slot = LongBytes(v - FloorMod(v, t.param));
        } else if (type.id == TypeId::kString) {
          std::string s = BytesAt(source, i);
          slot = s.substr(0, Utf8Prefix(s, t.param));
        } else if (type.id == TypeId::kBinary) {
          std::string s = BytesAt(source, i);
          slot = s.substr(0, static_cast<size_t>(std::min<int64_t>(t.param, static_cast<int64_t>(s.size()))));
        } else if (type.id == TypeId::kDecimal) {
          arrow::Decimal128 v = DecimalAt(source, i);
          arrow::Decimal128 w(t.param);
          arrow::Decimal128 rem = v % w;
          if (rem < arrow::Decimal128(0)) rem += w;
          slot = MinimalDecimalBytes(v - rem, type);
        } else {
          return SchemaError("truncate cannot apply to ", type.ToString());
        }
        break;
      }
      case Kind::kYear:
      case Kind::kMonth:
      case Kind::kDay:
      case Kind::kHour: {
        if (!IsIntegerLike(type.id) || type.id == TypeId::kInt || type.id == TypeId::kLong ||
            type.id == TypeId::kTime) {
          return SchemaError(transform, " needs a date or timestamp column, not ", type.ToString());
        }
        const int64_t raw = IntegerAt(source, i);
        if (t.kind == Kind::kHour) {
          if (!has_time) return SchemaError("hour needs a timestamp column, not ", type.ToString());
          slot = IntBytes(static_cast<int32_t>(FloorDiv(raw, kMicrosPerHour)));
          break;
        }
        const int64_t days = has_time ? FloorDiv(raw, kMicrosPerDay) : raw;
        if (t.kind == Kind::kDay) {
          slot = IntBytes(static_cast<int32_t>(days));
          break;
        }
        auto civil = CivilFromDays(days);
        const int64_t years = static_cast<int>(civil.year()) - 1970;
        slot = IntBytes(static_cast<int32_t>(
            t.kind == Kind::kYear ? years : years * 12 + static_cast<unsigned>(civil.month()) - 1));
        break;
      }
      case Kind::kVoid: break;
    }
  }
  return out;
}

std::string PartitionValueToPathSegment(const Type& type, const std::optional<std::string>& value) {
  if (!value) return "null";
  std::string text;
  auto scalar = DeserializeValue(type, *value);
  if (scalar.ok()) {
    text = (*scalar)->ToString();
  } else {
    text = "?";
  }
  // Keep directory names portable and never a path separator or dot-dot.
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  if (out.empty() || out == "." || out == "..") out = "%2E" + out;
  return out.substr(0, 128);
}

}  // namespace datashard::format

namespace datashard {

int32_t Murmur3Hash32(std::string_view data) {
  constexpr uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  uint32_t h = 0;
  const size_t blocks = data.size() / 4;
  for (size_t b = 0; b < blocks; ++b) {
    uint32_t k;
    std::memcpy(&k, data.data() + b * 4, 4);
    k *= c1;
    k = format::Rotl(k, 15);
    k *= c2;
    h ^= k;
    h = format::Rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  uint32_t k = 0;
  const auto* tail = reinterpret_cast<const uint8_t*>(data.data() + blocks * 4);
  switch (data.size() & 3) {
    case 3: k ^= static_cast<uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: k ^= static_cast<uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = format::Rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(data.size());
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return static_cast<int32_t>(h);
}

Result<std::shared_ptr<arrow::Array>> TransformToArrow(const std::string& transform, const Type& source_type,
                                                       const arrow::Array& source) {
  Schema schema;
  schema.fields = {NestedField{1, "source", source_type, false, ""}};
  PartitionField field{1, format::kFirstPartitionFieldId, "value", transform};
  ARROW_ASSIGN_OR_RAISE(Type result_type, format::PartitionResultType(schema, field));
  ARROW_ASSIGN_OR_RAISE(auto values, format::ApplyTransform(transform, source_type, source));
  ARROW_ASSIGN_OR_RAISE(auto builder, arrow::MakeBuilder(format::ToArrowType(result_type)));
  for (const auto& value : values) {
    if (!value) {
      ARROW_RETURN_NOT_OK(builder->AppendNull());
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto scalar, format::DeserializeValue(result_type, *value));
    ARROW_RETURN_NOT_OK(builder->AppendScalar(*scalar));
  }
  return builder->Finish();
}

}  // namespace datashard
