#include "datashard/format/avro.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <arrow/util/compression.h>
#include <gtest/gtest.h>
#include <zlib.h>

namespace datashard::format::avro {
namespace {

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string EncodeLong(int64_t v) {
  Encoder e;
  e.WriteLong(v);
  return e.buffer();
}

bool IsCorrupt(const Status& status) { return IsKind(status, ErrorKind::kCorruptData); }

TEST(AvroVarint, KnownEncodings) {
  EXPECT_EQ(Hex(EncodeLong(0)), "00");
  EXPECT_EQ(Hex(EncodeLong(-1)), "01");
  EXPECT_EQ(Hex(EncodeLong(1)), "02");
  EXPECT_EQ(Hex(EncodeLong(-64)), "7f");
  EXPECT_EQ(Hex(EncodeLong(64)), "8001");
  EXPECT_EQ(Hex(EncodeLong(std::numeric_limits<int64_t>::max())), "feffffffffffffffff01");
  EXPECT_EQ(Hex(EncodeLong(std::numeric_limits<int64_t>::min())), "ffffffffffffffffff01");
}

TEST(AvroVarint, RoundTripsEdgeValues) {
  const int64_t values[] = {0,
                            1,
                            -1,
                            63,
                            -64,
                            64,
                            -65,
                            std::numeric_limits<int32_t>::max(),
                            std::numeric_limits<int32_t>::min(),
                            int64_t{1} << 40,
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::min() + 1};
  Encoder e;
  for (int64_t v : values) e.WriteLong(v);
  Decoder d(e.buffer());
  for (int64_t v : values) {
    auto got = d.ReadLong();
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, v);
  }
  EXPECT_TRUE(d.at_end());
}

TEST(AvroVarint, RejectsMalformed) {
  // Truncated: continuation bit set on the last byte.
  EXPECT_TRUE(IsCorrupt(Decoder(std::string("\x80", 1)).ReadLong().status()));
  EXPECT_TRUE(IsCorrupt(Decoder(std::string_view()).ReadLong().status()));
  // Eleven bytes.
  EXPECT_TRUE(IsCorrupt(Decoder(std::string(10, '\xff') + '\x01').ReadLong().status()));
  // Ten bytes whose last carries more than bit 63.
  EXPECT_TRUE(IsCorrupt(Decoder(std::string(9, '\xff') + '\x02').ReadLong().status()));
  // An int out of 32-bit range.
  EXPECT_TRUE(IsCorrupt(Decoder(EncodeLong(int64_t{1} << 31)).ReadInt().status()));
  auto in_range = Decoder(EncodeLong(std::numeric_limits<int32_t>::min())).ReadInt();
  ASSERT_TRUE(in_range.ok());
  EXPECT_EQ(*in_range, std::numeric_limits<int32_t>::min());
}

TEST(AvroPrimitives, RoundTrip) {
  Encoder e;
  e.WriteBoolean(true);
  e.WriteFloat(-1.5f);
  e.WriteDouble(3.25);
  e.WriteBytes(std::string("a\0b", 3));
  e.WriteFixed("xyz");
  EXPECT_EQ(Hex(e.buffer().substr(1, 4)), "0000c0bf");  // little-endian IEEE-754
  Decoder d(e.buffer());
  EXPECT_EQ(*d.ReadBoolean(), true);
  EXPECT_EQ(*d.ReadFloat(), -1.5f);
  EXPECT_EQ(*d.ReadDouble(), 3.25);
  EXPECT_EQ(*d.ReadBytes(), std::string("a\0b", 3));
  EXPECT_EQ(*d.ReadFixed(3), "xyz");
  EXPECT_TRUE(d.at_end());
  EXPECT_TRUE(IsCorrupt(d.ReadDouble().status()));
}

TEST(AvroPrimitives, RejectsBadLengthsWithoutAllocating) {
  EXPECT_TRUE(IsCorrupt(Decoder(EncodeLong(-5)).ReadBytes().status()));
  // Claims ~4 EiB; must fail on the bounds check, not on an allocation.
  EXPECT_TRUE(IsCorrupt(Decoder(EncodeLong(std::numeric_limits<int64_t>::max()) + "abc").ReadBytes().status()));
  EXPECT_TRUE(IsCorrupt(Decoder(EncodeLong(4) + "abc").ReadBytes().status()));
  EXPECT_TRUE(IsCorrupt(Decoder("ab").ReadFixed(3).status()));
  EXPECT_TRUE(IsCorrupt(Decoder("ab").ReadFixed(-1).status()));
  EXPECT_TRUE(IsCorrupt(Decoder("\x02").ReadBoolean().status()));
}

TEST(AvroSchema, ParsesIcebergAttributes) {
  auto schema = ParseSchema(R"({"type":"record","name":"r","namespace":"ns","fields":[
    {"name":"a","type":["null",{"type":"array","items":"long","element-id":133}],"default":null,"field-id":132},
    {"name":"d","type":{"type":"int","logicalType":"date"},"field-id":7},
    {"name":"ts","type":{"type":"long","logicalType":"timestamp-micros","adjust-to-utc":true},"field-id":8},
    {"name":"dec","field-id":9,
     "type":{"type":"fixed","name":"decimal_9_2","size":4,"logicalType":"decimal","precision":9,"scale":2}},
    {"name":"dec2","type":["null","decimal_9_2"],"field-id":10},
    {"name":"m","type":{"type":"map","values":"string","key-id":11,"value-id":12}},
    {"name":"inner","type":{"type":"record","name":"inner","fields":[]},"field-id":13},
    {"name":"again","type":"ns.inner","field-id":14}]})");
  ASSERT_TRUE(schema.ok()) << schema.status();
  const Node& root = **schema;
  EXPECT_EQ(root.name, "ns.r");
  ASSERT_EQ(root.fields.size(), 8u);
  EXPECT_EQ(root.FindFieldById(132), 0);
  EXPECT_EQ(root.FindFieldByName("d"), 1);
  const Node& array = *root.fields[0].type->branches[1];
  EXPECT_EQ(array.type, Type::kArray);
  EXPECT_EQ(array.element_id, 133);
  EXPECT_EQ(root.fields[1].type->logical_type, "date");
  EXPECT_EQ(root.fields[2].type->adjust_to_utc, true);
  const Node& dec = *root.fields[3].type;
  EXPECT_EQ(dec.type, Type::kFixed);
  EXPECT_EQ(dec.size, 4);
  EXPECT_EQ(dec.precision, 9);
  EXPECT_EQ(dec.scale, 2);
  EXPECT_EQ(root.fields[4].type->branches[1].get(), &dec);  // reference resolves to the same node
  EXPECT_EQ(root.fields[5].type->key_id, 11);
  EXPECT_FALSE(root.fields[5].field_id.has_value());
  EXPECT_EQ(root.fields[7].type, root.fields[6].type);
}

TEST(AvroSchema, RejectsBadSchemas) {
  const char* bad[] = {
      "not json",
      R"({"type":"enum","name":"e","symbols":["A"]})",
      R"({"type":"record","name":"r","fields":[{"name":"self","type":"r"}]})",
      R"({"type":"record","name":"r","fields":[{"name":"x","type":"nope"}]})",
      R"({"type":"record","name":"r","fields":[{"name":"x","type":"int"},{"name":"x","type":"int"}]})",
      R"(["null",["int"]])",
      R"([])",
      R"({"type":"fixed","name":"f","size":-1})",
      R"({"type":"record","name":"r","fields":[{"name":"x","type":"int","field-id":"1"}]})",
      R"({"type":"record","name":"r","fields":[{"name":"a","type":{"type":"fixed","name":"f","size":1}},
                                               {"name":"b","type":{"type":"fixed","name":"f","size":2}}]})",
      R"({"type":"array"})",
  };
  for (const char* text : bad) EXPECT_TRUE(IsCorrupt(ParseSchema(text).status())) << text;

  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"type":"array","items":)";
  deep += "\"int\"" + std::string(200, '}');
  EXPECT_TRUE(IsCorrupt(ParseSchema(deep).status()));
  std::string deep_union(5000, '[');
  EXPECT_TRUE(IsCorrupt(ParseSchema(deep_union).status()));
}

const char* kTestSchema = R"({"type":"record","name":"t","fields":[
  {"name":"id","type":"long","field-id":1},
  {"name":"name","type":["null","string"],"default":null,"field-id":2},
  {"name":"tags","type":{"type":"array","items":"int","element-id":4},"field-id":3},
  {"name":"props","type":{"type":"map","values":"bytes"},"field-id":5},
  {"name":"f","type":{"type":"fixed","name":"f2","size":2},"field-id":6},
  {"name":"x","type":["null","double","float"],"field-id":7},
  {"name":"b","type":"boolean","field-id":8}]})";

Value TestRecord(int64_t id) {
  return Value::Record({Value::Long(id), id % 2 ? Value::String("n" + std::to_string(id)) : Value::Null(),
                        Value::Array({Value::Int(1), Value::Int(-2)}),
                        Value::Map({"k1", "k2"}, {Value::Bytes("v1"), Value::Bytes(std::string("\0", 1))}),
                        Value::Fixed("ab"), Value::Double(0.5), Value::Boolean(id % 3 == 0)});
}

void ExpectTestRecord(const Node& schema, const Value& v, int64_t id) {
  ASSERT_EQ(v.kind(), ValueKind::kRecord);
  ASSERT_EQ(v.items().size(), 7u);
  EXPECT_EQ(v.items()[0].int64(), id);
  if (id % 2) {
    EXPECT_EQ(v.items()[1].bytes(), "n" + std::to_string(id));
    EXPECT_EQ(v.items()[1].branch(), 1);
    EXPECT_EQ(ResolveBranch(*schema.fields[1].type, v.items()[1]).type, Type::kString);
  } else {
    EXPECT_TRUE(v.items()[1].is_null());
    EXPECT_EQ(v.items()[1].branch(), 0);
  }
  ASSERT_EQ(v.items()[2].items().size(), 2u);
  EXPECT_EQ(v.items()[2].items()[1].int32(), -2);
  EXPECT_EQ(v.items()[3].keys(), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(v.items()[3].items()[1].bytes(), std::string("\0", 1));
  EXPECT_EQ(v.items()[4].bytes(), "ab");
  EXPECT_EQ(v.items()[5].real(), 0.5);
  EXPECT_EQ(v.items()[6].boolean(), id % 3 == 0);
}

TEST(AvroValue, EncodeDecodeRoundTrip) {
  auto schema = ParseSchema(kTestSchema);
  ASSERT_TRUE(schema.ok()) << schema.status();
  Encoder e;
  ASSERT_TRUE(EncodeValue(**schema, TestRecord(7), &e).ok());
  Decoder d(e.buffer());
  auto v = DecodeValue(**schema, &d);
  ASSERT_TRUE(v.ok()) << v.status();
  ExpectTestRecord(**schema, *v, 7);
  EXPECT_TRUE(d.at_end());
}

TEST(AvroValue, EncodeRejectsMismatches) {
  auto schema = ParseSchema(kTestSchema);
  ASSERT_TRUE(schema.ok());
  Value bad = TestRecord(1);
  bad.mutable_items()[4] = Value::Fixed("abc");  // wrong fixed size
  Encoder e;
  Status st = EncodeValue(**schema, bad, &e);
  EXPECT_TRUE(IsKind(st, ErrorKind::kInvalidArgument)) << st;
  EXPECT_NE(st.message().find('f'), std::string::npos);
  bad = TestRecord(1);
  bad.mutable_items()[0] = Value::Null();  // required long
  EXPECT_TRUE(IsKind(EncodeValue(**schema, bad, &e), ErrorKind::kInvalidArgument));
}

TEST(AvroValue, NegativeBlockCounts) {
  auto schema = ParseSchema(R"({"type":"array","items":"long"})");
  ASSERT_TRUE(schema.ok());
  Encoder e;
  e.WriteLong(-2);  // two items, then their byte size
  e.WriteLong(2);
  e.WriteLong(5);
  e.WriteLong(-6);
  e.WriteLong(1);  // an ordinary block follows
  e.WriteLong(7);
  e.WriteLong(0);
  Decoder d(e.buffer());
  auto v = DecodeValue(**schema, &d);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->items().size(), 3u);
  EXPECT_EQ(v->items()[1].int64(), -6);
  EXPECT_EQ(v->items()[2].int64(), 7);

  Encoder bad_size;
  bad_size.WriteLong(-2);
  bad_size.WriteLong(1000);  // byte size beyond the input
  bad_size.WriteLong(5);
  Decoder d2(bad_size.buffer());
  EXPECT_TRUE(IsCorrupt(DecodeValue(**schema, &d2).status()));

  Encoder min_count;
  min_count.WriteLong(std::numeric_limits<int64_t>::min());
  Decoder d3(min_count.buffer());
  EXPECT_TRUE(IsCorrupt(DecodeValue(**schema, &d3).status()));
}

TEST(AvroValue, HugeCountsAreRejectedBeforeAllocating) {
  auto longs = ParseSchema(R"({"type":"array","items":"long"})");
  Encoder e;
  e.WriteLong(int64_t{1} << 60);
  e.WriteLong(1);
  Decoder d(e.buffer());
  EXPECT_TRUE(IsCorrupt(DecodeValue(**longs, &d).status()));

  // Nulls encode to nothing, so only the free-item allowance bounds them.
  auto nulls = ParseSchema(R"({"type":"array","items":"null"})");
  Encoder n;
  n.WriteLong(int64_t{1} << 40);
  Decoder dn(n.buffer());
  EXPECT_TRUE(IsCorrupt(DecodeValue(**nulls, &dn).status()));

  auto union_schema = ParseSchema(R"(["null","int"])");
  const std::string branch_two = EncodeLong(2);
  Decoder du(branch_two);
  EXPECT_TRUE(IsCorrupt(DecodeValue(**union_schema, &du).status()));
}

// A container file assembled by hand, to exercise what our writer never emits.
std::string Header(const std::string& schema, const std::string& codec, const std::string& sync,
                   bool negative_count = false) {
  Encoder e;
  e.WriteFixed(std::string("Obj\x01", 4));
  Encoder entries;
  entries.WriteBytes("avro.schema");
  entries.WriteBytes(schema);
  entries.WriteBytes("avro.codec");
  entries.WriteBytes(codec);
  if (negative_count) {
    e.WriteLong(-2);
    e.WriteLong(static_cast<int64_t>(entries.buffer().size()));
  } else {
    e.WriteLong(2);
  }
  e.WriteFixed(entries.buffer());
  e.WriteLong(0);
  e.WriteFixed(sync);
  return e.buffer();
}

std::string Block(int64_t count, const std::string& data, const std::string& sync) {
  Encoder e;
  e.WriteLong(count);
  e.WriteBytes(data);
  e.WriteFixed(sync);
  return e.buffer();
}

const std::string kSync = "0123456789abcdef";

TEST(AvroContainer, WriterRoundTripBothCodecs) {
  auto schema = ParseSchema(kTestSchema);
  ASSERT_TRUE(schema.ok());
  for (AvroCodec codec : {AvroCodec::kNull, AvroCodec::kDeflate}) {
    for (int64_t n : {3, 2000}) {  // a small block is stored plainly whatever the codec asked for
      std::vector<Value> records;
      for (int64_t i = 0; i < n; ++i) records.push_back(TestRecord(i));
      auto bytes = WriteContainerFile(kTestSchema, **schema, {{"k", "v"}, {"n", ""}}, records, codec);
      ASSERT_TRUE(bytes.ok()) << bytes.status();
      auto file = ReadContainerFile(*bytes);
      ASSERT_TRUE(file.ok()) << file.status();
      EXPECT_EQ(file->metadata.at("avro.codec"), codec == AvroCodec::kDeflate && n > 3 ? "deflate" : "null");
      EXPECT_EQ(file->metadata.at("avro.schema"), kTestSchema);
      EXPECT_EQ(file->metadata.at("k"), "v");
      EXPECT_EQ(file->metadata.at("n"), "");
      ASSERT_EQ(file->records.size(), static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) ExpectTestRecord(*file->schema, file->records[i], i);
    }
  }
}

TEST(AvroContainer, ZeroRecordsIsHeaderOnly) {
  auto schema = ParseSchema(kTestSchema);
  auto bytes = WriteContainerFile(kTestSchema, **schema, {}, {}, AvroCodec::kDeflate);
  ASSERT_TRUE(bytes.ok());
  auto file = ReadContainerFile(*bytes);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->records.empty());
  // The file ends with the sync marker: no empty block after it.
  Decoder d(std::string_view(*bytes).substr(4));
  int64_t count = *d.ReadBlockCount();
  for (int64_t i = 0; i < 2 * count; ++i) ASSERT_TRUE(d.ReadBytes().ok());
  EXPECT_EQ(*d.ReadBlockCount(), 0);
  EXPECT_EQ(d.remaining(), 16u);
  EXPECT_TRUE(IsKind(WriteContainerFile(kTestSchema, **schema, {{"avro.x", ""}}, {}, AvroCodec::kNull).status(),
                     ErrorKind::kInvalidArgument));
}

TEST(AvroContainer, NegativeHeaderCountAndMultipleBlocks) {
  auto schema = ParseSchema(kTestSchema);
  std::string file = Header(kTestSchema, "null", kSync, /*negative_count=*/true);
  for (int64_t block = 0; block < 3; ++block) {
    Encoder data;
    for (int64_t i = 0; i < 2; ++i) ASSERT_TRUE(EncodeValue(**schema, TestRecord(block * 2 + i), &data).ok());
    file += Block(2, data.buffer(), kSync);
  }
  file += Block(0, "", kSync);  // empty blocks are legal to read
  auto read = ReadContainerFile(file);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->records.size(), 6u);
  for (int64_t i = 0; i < 6; ++i) ExpectTestRecord(*read->schema, read->records[i], i);

  std::string bad_sync = file;
  bad_sync[bad_sync.size() - 1] ^= 1;
  EXPECT_TRUE(IsCorrupt(ReadContainerFile(bad_sync).status()));
}

TEST(AvroContainer, RejectsBlockCountMismatches) {
  auto schema = ParseSchema(R"("long")");
  std::string header = Header(R"("long")", "null", kSync);
  EXPECT_TRUE(IsCorrupt(ReadContainerFile(header + Block(-1, EncodeLong(1), kSync)).status()));
  EXPECT_TRUE(IsCorrupt(ReadContainerFile(header + Block(2, EncodeLong(1), kSync)).status()));        // too few bytes
  EXPECT_TRUE(IsCorrupt(ReadContainerFile(header + Block(1, EncodeLong(1) + "x", kSync)).status()));  // trailing
}

TEST(AvroContainer, UnknownCodecIsNamed) {
  Status st = ReadContainerFile(Header(R"("long")", "lzma", kSync)).status();
  EXPECT_TRUE(IsCorrupt(st));
  EXPECT_NE(st.message().find("lzma"), std::string::npos) << st;
}

std::string RawDeflate(const std::string& data) {
  // zlib's compress() output minus its 2-byte header and the last checksum
  // byte: exactly what PyIceberg writes, 3 stray Adler-32 bytes included.
  uLongf size = compressBound(data.size());
  std::string out(size, '\0');
  EXPECT_EQ(
      compress(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(data.data()), data.size()),
      Z_OK);
  return out.substr(2, size - 3);
}

TEST(AvroContainer, DeflateWithPyIcebergTrailingBytes) {
  auto schema = ParseSchema(kTestSchema);
  Encoder data;
  for (int64_t i = 0; i < 10; ++i) ASSERT_TRUE(EncodeValue(**schema, TestRecord(i), &data).ok());
  std::string file = Header(kTestSchema, "deflate", kSync) + Block(10, RawDeflate(data.buffer()), kSync);
  auto read = ReadContainerFile(file);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->records.size(), 10u);
  ExpectTestRecord(*read->schema, read->records[9], 9);

  std::string truncated = RawDeflate(data.buffer());
  truncated.resize(truncated.size() / 2);
  const std::string header = Header(kTestSchema, "deflate", kSync);
  EXPECT_TRUE(IsCorrupt(ReadContainerFile(header + Block(10, truncated, kSync)).status()));
  EXPECT_TRUE(IsCorrupt(ReadContainerFile(header + Block(10, "garbage!", kSync)).status()));
}

TEST(AvroContainer, DecompressionBombIsRejected) {
  // 8 MiB of zero bytes deflates to ~8 KiB and would be eight valid 1 MiB fixed values.
  const std::string schema = R"({"type":"fixed","name":"mib","size":1048576})";
  std::string zeros(8 << 20, '\0');
  std::string file = Header(schema, "deflate", kSync) + Block(8, RawDeflate(zeros), kSync);
  ReadOptions options;
  options.max_block_bytes = 1 << 20;
  Status st = ReadContainerFile(file, options).status();
  EXPECT_TRUE(IsCorrupt(st)) << st;
  EXPECT_NE(st.message().find("decompresses"), std::string::npos) << st;
  // The same block is fine under the default 1 GiB cap.
  auto read = ReadContainerFile(file);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->records.size(), 8u);
}

TEST(AvroContainer, SnappyBlocks) {
  auto codec = arrow::util::Codec::Create(arrow::Compression::SNAPPY);
  if (!codec.ok()) GTEST_SKIP() << "Arrow built without snappy";
  auto schema = ParseSchema(kTestSchema);
  Encoder data;
  for (int64_t i = 0; i < 10; ++i) ASSERT_TRUE(EncodeValue(**schema, TestRecord(i), &data).ok());
  const std::string& raw = data.buffer();
  std::string compressed((*codec)->MaxCompressedLen(raw.size(), nullptr), '\0');
  auto size = (*codec)->Compress(raw.size(), reinterpret_cast<const uint8_t*>(raw.data()), compressed.size(),
                                 reinterpret_cast<uint8_t*>(compressed.data()));
  ASSERT_TRUE(size.ok());
  compressed.resize(*size);
  uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  for (int shift = 24; shift >= 0; shift -= 8) compressed.push_back(static_cast<char>(crc >> shift));
  auto read = ReadContainerFile(Header(kTestSchema, "snappy", kSync) + Block(10, compressed, kSync));
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectTestRecord(*read->schema, read->records[3], 3);
  compressed.back() ^= 1;  // checksum mismatch
  EXPECT_TRUE(
      IsCorrupt(ReadContainerFile(Header(kTestSchema, "snappy", kSync) + Block(10, compressed, kSync)).status()));
}

TEST(AvroContainer, ZstandardBlocks) {
  auto codec = arrow::util::Codec::Create(arrow::Compression::ZSTD);
  if (!codec.ok()) GTEST_SKIP() << "Arrow built without zstd";
  auto schema = ParseSchema(kTestSchema);
  Encoder data;
  for (int64_t i = 0; i < 10; ++i) ASSERT_TRUE(EncodeValue(**schema, TestRecord(i), &data).ok());
  const std::string& raw = data.buffer();
  std::string compressed((*codec)->MaxCompressedLen(raw.size(), nullptr), '\0');
  auto size = (*codec)->Compress(raw.size(), reinterpret_cast<const uint8_t*>(raw.data()), compressed.size(),
                                 reinterpret_cast<uint8_t*>(compressed.data()));
  ASSERT_TRUE(size.ok());
  compressed.resize(*size);
  auto read = ReadContainerFile(Header(kTestSchema, "zstandard", kSync) + Block(10, compressed, kSync));
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectTestRecord(*read->schema, read->records[9], 9);
  compressed.resize(compressed.size() - 3);
  EXPECT_TRUE(
      IsCorrupt(ReadContainerFile(Header(kTestSchema, "zstandard", kSync) + Block(10, compressed, kSync)).status()));
}

TEST(AvroContainer, TruncationAndGarbageNeverCrash) {
  auto schema = ParseSchema(kTestSchema);
  std::vector<Value> records;
  for (int64_t i = 0; i < 5; ++i) records.push_back(TestRecord(i));
  for (AvroCodec codec : {AvroCodec::kNull, AvroCodec::kDeflate}) {
    auto bytes = WriteContainerFile(kTestSchema, **schema, {{"k", "v"}}, records, codec);
    ASSERT_TRUE(bytes.ok());
    for (size_t n = 0; n < bytes->size(); ++n) {
      // Cut right after the header, a file is a valid empty one; anywhere else it is corrupt.
      auto read = ReadContainerFile(std::string_view(*bytes).substr(0, n));
      if (read.ok()) {
        EXPECT_TRUE(read->records.empty()) << "prefix " << n;
      } else {
        EXPECT_TRUE(IsCorrupt(read.status())) << "prefix " << n << ": " << read.status();
      }
    }
    std::mt19937 rng(42);
    for (int trial = 0; trial < 2000; ++trial) {
      std::string mutated = *bytes;
      for (int flips = 0; flips < 3; ++flips) mutated[rng() % mutated.size()] = static_cast<char>(rng());
      (void)ReadContainerFile(mutated);  // any status is fine; crashing or hanging is not
    }
  }
  EXPECT_TRUE(IsCorrupt(ReadContainerFile("Obj").status()));
  EXPECT_TRUE(IsCorrupt(ReadContainerFile("PAR1xxxxxxxx").status()));
}

}  // namespace
}  // namespace datashard::format::avro
