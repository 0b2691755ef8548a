// Fuzzing support: a FileSystem over a few in-memory files, so parsers that
// read through FileSystem (the version resolver, the Parquet reader) can be
// fed fuzz input without touching the disk. Read-only: every write fails.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/io/memory.h>

#include "datashard/file_system.h"

namespace datashard::fuzz {

class MemoryFileSystem final : public FileSystem {
 public:
  void Add(const std::string& path, std::string bytes) { files_[path] = std::move(bytes); }

  Result<std::string> ReadFile(const std::string& path) override {
    auto it = files_.find(path);
    if (it == files_.end()) return Status::KeyError("open ", path, ": no such file or directory");
    return it->second;
  }
  Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(const std::string& path) override {
    auto it = files_.find(path);
    if (it == files_.end()) return Status::KeyError("open ", path, ": no such file or directory");
    return std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(it->second));
  }
  Result<FileInfo> GetFileInfo(const std::string& path) override {
    auto it = files_.find(path);
    if (it == files_.end()) return Status::KeyError("stat ", path, ": no such file or directory");
    return FileInfo{path, static_cast<int64_t>(it->second.size()), 0, false};
  }
  Result<bool> Exists(const std::string& path) override { return files_.count(path) > 0; }
  Result<std::vector<FileInfo>> ListDir(const std::string& dir) override {
    std::vector<FileInfo> out;
    const std::string prefix = dir + "/";
    for (const auto& [path, bytes] : files_) {
      if (path.compare(0, prefix.size(), prefix) == 0 && path.find('/', prefix.size()) == std::string::npos) {
        out.push_back(FileInfo{path.substr(prefix.size()), static_cast<int64_t>(bytes.size()), 0, false});
      }
    }
    if (out.empty()) return Status::KeyError("list ", dir, ": no such file or directory");
    return out;
  }
  Status CreateDir(const std::string&) override { return ReadOnly(); }
  Status WriteNewFile(const std::string&, std::string_view, Durability) override { return ReadOnly(); }
  Status Sync(const std::vector<std::string>&) override { return ReadOnly(); }
  Status PublishIfAbsent(const std::string&, std::string_view, Durability, const std::vector<std::string>&) override {
    return ReadOnly();
  }
  Status ReplaceFile(const std::string&, std::string_view) override { return ReadOnly(); }
  Status DeleteFile(const std::string&) override { return ReadOnly(); }
  Status SyncDir(const std::string&) override { return ReadOnly(); }

 private:
  static Status ReadOnly() { return Status::IOError("the fuzzing file system is read-only"); }
  std::map<std::string, std::string> files_;
};

}  // namespace datashard::fuzz
