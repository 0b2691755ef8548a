// The one door for every byte of I/O the engine does.
//
// The engine never calls open()/fopen() itself: it goes through a FileSystem,
// so tests can fail any call on purpose (testing/fault_injection_fs.h), count
// bytes read, and object stores can stand in for POSIX. Paths are absolute
// strings in the table's location scheme.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/io/interfaces.h>

#include "datashard/status.h"

namespace datashard {

struct FileInfo {
  std::string path;
  int64_t size = 0;
  int64_t mtime_ms = 0;
  bool is_dir = false;
};

enum class Durability {
  kFsync,    // content and directory entry survive power loss before the call returns
  kProcess,  // survives the death of any process, not a power cut (no flush barriers)
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Reads a whole file. A missing file is Status::KeyError (see IsNotFound()).
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Random access for the Parquet reader.
  virtual Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(const std::string& path) = 0;
  virtual Result<FileInfo> GetFileInfo(const std::string& path) = 0;
  virtual Result<bool> Exists(const std::string& path) = 0;
  // Entries of a directory (names only), no particular order; a missing directory is KeyError.
  virtual Result<std::vector<FileInfo>> ListDir(const std::string& dir) = 0;

  virtual Status CreateDir(const std::string& dir) = 0;  // recursive, ok if present
  // Creates a new file that must not exist yet (unique names only), writes
  // `data`, and with kFsync flushes it and its directory entry.
  virtual Status WriteNewFile(const std::string& path, std::string_view data, Durability durability) = 0;
  // Atomically creates `path` with `data` if and only if it does not exist.
  // Returns Status::AlreadyExists if another writer created it first. This is
  // the commit point of the whole protocol: it never replaces an existing file.
  virtual Status PublishIfAbsent(const std::string& path, std::string_view data, Durability durability) = 0;
  // Replaces `path` atomically (temp + rename). Only for advisory files such as
  // version-hint.text, never for anything a commit depends on.
  virtual Status ReplaceFile(const std::string& path, std::string_view data) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // Makes earlier directory-entry changes in `dir` durable.
  virtual Status SyncDir(const std::string& dir) = 0;
};

bool IsNotFound(const Status& status);

std::shared_ptr<FileSystem> LocalFileSystem();

}  // namespace datashard
