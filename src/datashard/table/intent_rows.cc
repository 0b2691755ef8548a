#include "datashard/table/intent_rows.h"

#include <arrow/buffer.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/ipc/writer.h>
#include <arrow/table.h>

#include "datashard/format/arrow_schema.h"

namespace datashard::table {

Result<std::string> EncodeIntentRows(const arrow::Table& rows) {
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeStreamWriter(sink, rows.schema()));
  ARROW_RETURN_NOT_OK(writer->WriteTable(rows));
  ARROW_RETURN_NOT_OK(writer->Close());
  ARROW_ASSIGN_OR_RAISE(auto buffer, sink->Finish());
  return buffer->ToString();
}

Result<std::shared_ptr<arrow::Table>> DecodeIntentRows(const std::string& bytes, const Schema& schema) {
  auto input = std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes));
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchStreamReader::Open(input));
  ARROW_ASSIGN_OR_RAISE(auto rows, reader->ToTable());
  ARROW_RETURN_NOT_OK(rows->ValidateFull());
  return format::ConformToSchema(rows, schema);
}

}  // namespace datashard::table
