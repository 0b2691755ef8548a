#include "datashard/format/single_value.h"

#include <cstring>

#include <arrow/api.h>
#include <arrow/util/decimal.h>

#include "datashard/format/arrow_schema.h"

namespace datashard::format {
namespace {

template <typename T>
std::string LittleEndian(T value) {
  static_assert(std::endian::native == std::endian::little, "datashard assumes a little-endian host");
  std::string out(sizeof(T), '\0');
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

template <typename T>
Result<T> ReadLittleEndian(std::string_view bytes, const Type& type) {
  if (bytes.size() != sizeof(T)) {
    return CorruptData("a ", type.ToString(), " bound must be ", sizeof(T), " bytes, got ", bytes.size());
  }
  T value;
  std::memcpy(&value, bytes.data(), sizeof(T));
  return value;
}

// Two's-complement big-endian in the minimum number of bytes (Java BigInteger.toByteArray).
std::string DecimalToMinimalBytes(const arrow::Decimal128& value) {
  uint8_t be[16];
  const uint64_t hi = static_cast<uint64_t>(value.high_bits());
  const uint64_t lo = value.low_bits();
  for (int i = 0; i < 8; ++i) {
    be[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    be[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  int start = 0;
  while (start < 15) {
    const bool redundant =
        (be[start] == 0x00 && (be[start + 1] & 0x80) == 0) || (be[start] == 0xFF && (be[start + 1] & 0x80) != 0);
    if (!redundant) break;
    ++start;
  }
  return std::string(reinterpret_cast<const char*>(be + start), 16 - start);
}

}  // namespace

Result<std::string> SerializeValue(const Type& type, const arrow::Scalar& scalar) {
  if (!scalar.is_valid) return InvalidArgument("cannot serialize a null ", type.ToString());
  switch (type.id) {
    case TypeId::kBoolean:
      return std::string(1, static_cast<const arrow::BooleanScalar&>(scalar).value ? '\x01' : '\x00');
    case TypeId::kInt: return LittleEndian(static_cast<const arrow::Int32Scalar&>(scalar).value);
    case TypeId::kDate: return LittleEndian(static_cast<const arrow::Date32Scalar&>(scalar).value);
    case TypeId::kLong: return LittleEndian(static_cast<const arrow::Int64Scalar&>(scalar).value);
    case TypeId::kTime: return LittleEndian(static_cast<const arrow::Time64Scalar&>(scalar).value);
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: return LittleEndian(static_cast<const arrow::TimestampScalar&>(scalar).value);
    case TypeId::kFloat: return LittleEndian(static_cast<const arrow::FloatScalar&>(scalar).value);
    case TypeId::kDouble: return LittleEndian(static_cast<const arrow::DoubleScalar&>(scalar).value);
    case TypeId::kString:
    case TypeId::kBinary:
    case TypeId::kUuid:
    case TypeId::kFixed: {
      const auto& base = static_cast<const arrow::BaseBinaryScalar&>(scalar);
      return std::string(reinterpret_cast<const char*>(base.value->data()), static_cast<size_t>(base.value->size()));
    }
    case TypeId::kDecimal: return DecimalToMinimalBytes(static_cast<const arrow::Decimal128Scalar&>(scalar).value);
  }
  return InvalidArgument("cannot serialize type ", type.ToString());
}

Result<std::shared_ptr<arrow::Scalar>> DeserializeValue(const Type& type, std::string_view bytes) {
  switch (type.id) {
    case TypeId::kBoolean: {
      if (bytes.size() != 1) return CorruptData("a boolean bound must be 1 byte, got ", bytes.size());
      return std::make_shared<arrow::BooleanScalar>(bytes[0] != 0);
    }
    case TypeId::kInt: {
      ARROW_ASSIGN_OR_RAISE(auto v, ReadLittleEndian<int32_t>(bytes, type));
      return std::make_shared<arrow::Int32Scalar>(v);
    }
    case TypeId::kDate: {
      ARROW_ASSIGN_OR_RAISE(auto v, ReadLittleEndian<int32_t>(bytes, type));
      return std::make_shared<arrow::Date32Scalar>(v);
    }
    case TypeId::kLong: {
      // Iceberg allows an int bound where a column was promoted from int to long.
      if (bytes.size() == 4) {
        ARROW_ASSIGN_OR_RAISE(auto v, ReadLittleEndian<int32_t>(bytes, type));
        return std::make_shared<arrow::Int64Scalar>(v);
      }
      ARROW_ASSIGN_OR_RAISE(auto v, ReadLittleEndian<int64_t>(bytes, type));
      return std::make_shared<arrow::Int64Scalar>(v);
    }
    case TypeId::kTime: {
      ARROW_ASSIGN_OR_RAISE(auto v, ReadLittleEndian<int64_t>(bytes, type));
      return std::make_shared<arrow::Time64Scalar>(v, arrow::time64(arrow::TimeUnit::MICRO));
    }
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: {
      ARROW_ASSIGN_OR_RAISE(auto v, ReadLittleEndian<int64_t>(bytes, type));
      return std::make_shared<arrow::TimestampScalar>(v, ToArrowType(type));
    }
    case TypeId::kFloat: {
      ARROW_ASSIGN_OR_RAISE(auto v, ReadLittleEndian<float>(bytes, type));
      return std::make_shared<arrow::FloatScalar>(v);
    }
    case TypeId::kDouble: {
      if (bytes.size() == 4) {
        ARROW_ASSIGN_OR_RAISE(auto v, ReadLittleEndian<float>(bytes, type));
        return std::make_shared<arrow::DoubleScalar>(v);
      }
      ARROW_ASSIGN_OR_RAISE(auto v, ReadLittleEndian<double>(bytes, type));
      return std::make_shared<arrow::DoubleScalar>(v);
    }
    case TypeId::kString: return std::make_shared<arrow::StringScalar>(std::string(bytes));
    case TypeId::kBinary: return std::make_shared<arrow::BinaryScalar>(std::string(bytes));
    case TypeId::kUuid:
    case TypeId::kFixed: {
      const size_t width = type.id == TypeId::kUuid ? 16 : static_cast<size_t>(type.length);
      if (bytes.size() != width) return CorruptData("a ", type.ToString(), " bound has ", bytes.size(), " bytes");
      return std::make_shared<arrow::FixedSizeBinaryScalar>(arrow::Buffer::FromString(std::string(bytes)),
                                                            ToArrowType(type));
    }
    case TypeId::kDecimal: {
      if (bytes.empty() || bytes.size() > 16) return CorruptData("a decimal bound has ", bytes.size(), " bytes");
      auto value = arrow::Decimal128::FromBigEndian(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                    static_cast<int32_t>(bytes.size()));
      if (!value.ok()) return CorruptData("malformed decimal bound: ", value.status().message());
      return std::make_shared<arrow::Decimal128Scalar>(*value, ToArrowType(type));
    }
  }
  return CorruptData("cannot read a bound of type ", type.ToString());
}

namespace {

// Byte length of the first `count` UTF-8 code points of `s` (or s.size()).
size_t Utf8PrefixLength(const std::string& s, size_t count) {
  size_t pos = 0;
  for (size_t n = 0; n < count && pos < s.size(); ++n) {
    unsigned char c = static_cast<unsigned char>(s[pos]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    pos += len;
  }
  return std::min(pos, s.size());
}

}  // namespace

std::string TruncateLowerBound(const Type& type, const std::string& value) {
  if (type.id == TypeId::kString) return value.substr(0, Utf8PrefixLength(value, kBoundTruncateLength));
  if (type.id == TypeId::kBinary) return value.substr(0, std::min(value.size(), kBoundTruncateLength));
  return value;
}

std::optional<std::string> TruncateUpperBound(const Type& type, const std::string& value) {
  if (type.id == TypeId::kBinary) {
    if (value.size() <= kBoundTruncateLength) return value;
    std::string out = value.substr(0, kBoundTruncateLength);
    while (!out.empty()) {
      unsigned char last = static_cast<unsigned char>(out.back());
      if (last != 0xFF) {
        out.back() = static_cast<char>(last + 1);
        return out;
      }
      out.pop_back();
    }
    return std::nullopt;
  }
  if (type.id == TypeId::kString) {
    size_t cut = Utf8PrefixLength(value, kBoundTruncateLength);
    if (cut >= value.size()) return value;
    std::string out = value.substr(0, cut);
    // Increment the last ASCII character; for simplicity a multi-byte last
    // character is dropped and the one before it tried.
    while (!out.empty()) {
      unsigned char last = static_cast<unsigned char>(out.back());
      if (last < 0x7F) {
        out.back() = static_cast<char>(last + 1);
        return out;
      }
      // Drop the whole last code point.
      size_t start = out.size() - 1;
      while (start > 0 && (static_cast<unsigned char>(out[start]) & 0xC0) == 0x80) --start;
      out.resize(start);
    }
    return std::nullopt;
  }
  return value;
}

}  // namespace datashard::format
