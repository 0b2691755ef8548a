#include "datashard/file_system.h"

#include <arrow/buffer.h>
#include <arrow/io/memory.h>

namespace datashard {
namespace {

// OpenNewFile for file systems that write whole files only: the bytes wait
// in memory until Close() hands them to WriteNewFile().
class WholeFileOutputStream final : public arrow::io::OutputStream {
 public:
  WholeFileOutputStream(FileSystem* fs, std::string path, std::shared_ptr<arrow::io::BufferOutputStream> buffer)
      : fs_(fs), path_(std::move(path)), buffer_(std::move(buffer)) {}

  Status Close() override {
    if (closed_) return Status::OK();
    closed_ = true;
    ARROW_ASSIGN_OR_RAISE(auto bytes, buffer_->Finish());
    return fs_->WriteNewFile(
        path_, std::string_view(reinterpret_cast<const char*>(bytes->data()), static_cast<size_t>(bytes->size())),
        Durability::kProcess);
  }
  bool closed() const override { return closed_; }
  Result<int64_t> Tell() const override { return buffer_->Tell(); }
  Status Write(const void* data, int64_t nbytes) override { return buffer_->Write(data, nbytes); }
  Status Write(const std::shared_ptr<arrow::Buffer>& data) override { return buffer_->Write(data); }

 private:
  FileSystem* fs_;
  std::string path_;
  std::shared_ptr<arrow::io::BufferOutputStream> buffer_;
  bool closed_ = false;
};

}  // namespace

bool IsNotFound(const Status& status) { return status.IsKeyError(); }

Result<std::shared_ptr<arrow::io::OutputStream>> FileSystem::OpenNewFile(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto buffer, arrow::io::BufferOutputStream::Create());
  return std::make_shared<WholeFileOutputStream>(this, path, std::move(buffer));
}

}  // namespace datashard
