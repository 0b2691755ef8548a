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

  // Creates `dir` and any missing parents (ok if present). On return the
  // directory's entry is durable, whoever created it, so files synced inside
  // it later survive a power loss.
  virtual Status CreateDir(const std::string& dir) = 0;
  // Creates a new file that must not exist yet (unique names only), writes
  // `data`, and with kFsync flushes it and its directory entry.
  virtual Status WriteNewFile(const std::string& path, std::string_view data, Durability durability) = 0;
  // Creates a new file that must not exist yet and returns a stream that
  // writes it as bytes arrive (a data file larger than memory); Close()
  // completes it, unflushed: Sync() it for durability. After a failed write
  // or close, DeleteFile() what may be there. The default holds the bytes
  // in memory and hands them to WriteNewFile() at Close().
  virtual Result<std::shared_ptr<arrow::io::OutputStream>> OpenNewFile(const std::string& path);
  // Makes the contents and directory entries of `paths` durable. Local disks
  // flush them concurrently, so the journal commits them together: the cost is
  // about one flush barrier, not one per file.
  virtual Status Sync(const std::vector<std::string>& paths) = 0;
  // Atomically creates `path` with `data` if and only if it does not exist.
  // Returns Status::AlreadyExists if another writer created it first. This is
  // the commit point of the whole protocol: it never replaces an existing file.
  // With kFsync the content (and every file in `sync_first`, e.g. the
  // manifest list it names) is durable before the name appears; the new
  // directory entry itself is made durable by a later SyncDir(), which the
  // caller issues before acknowledging (outside the race window).
  virtual Status PublishIfAbsent(const std::string& path, std::string_view data, Durability durability,
                                 const std::vector<std::string>& sync_first = {}) = 0;
  // Replaces the content of `path` (creating it if absent). Only for small
  // advisory files such as version-hint.text, never for anything a commit
  // depends on: a reader sees the old or the new content, and for an instant
  // possibly a prefix of the new over the old where the new is not shorter.
  virtual Status ReplaceFile(const std::string& path, std::string_view data) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // Makes earlier directory-entry changes in `dir` durable.
  virtual Status SyncDir(const std::string& dir) = 0;
};

bool IsNotFound(const Status& status);

std::shared_ptr<FileSystem> LocalFileSystem();

// S3-compatible object storage (docs/object-storage.md). Paths are
// "s3://bucket/key". Commits are conditional PUTs (If-None-Match: *), so the
// endpoint must enforce them; it is probed before the first write to a bucket.
struct S3Options {
  std::string endpoint;  // "http://127.0.0.1:9000"; empty means AWS (https://s3.<region>.amazonaws.com)
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  bool virtual_host_style = false;  // bucket in the host name rather than the path
  // With false the endpoint is not probed and a commit checks for the next
  // version before an unconditional PUT: safe for ONE writer at a time only,
  // for stores that ignore If-None-Match.
  bool require_conditional_writes = true;
  int max_attempts = 6;  // per request, for throttling and transient failures
  double request_timeout_s = 60;
};

// Options from the environment: DATASHARD_S3_* (the original package's
// variables) first, then AWS_* variables, then the AWS profile files.
Result<S3Options> S3OptionsFromEnvironment();
Result<std::shared_ptr<FileSystem>> MakeS3FileSystem(const S3Options& options);
bool IsS3Path(std::string_view path);
// The file system for a table path: S3 with options from the environment for
// "s3://" paths (one per process and configuration), local disk otherwise.
Result<std::shared_ptr<FileSystem>> FileSystemForPath(const std::string& path);

}  // namespace datashard
