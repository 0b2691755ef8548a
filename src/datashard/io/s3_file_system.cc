// FileSystem on S3-compatible object storage.
//
// Whole-object reads and writes and the commit's conditional PUT go through
// S3Client (libcurl, SigV4); ranged reads for Parquet and listings go through
// Arrow's S3FileSystem. An acknowledged PUT is durable, so Sync and SyncDir
// have nothing to do, and there are no directories to create. The commit
// point is PublishIfAbsent: `If-None-Match: *` makes the store itself refuse
// a second creator of v<N+1>, which is why the endpoint is probed for it
// before the first write to a bucket.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>

#include <arrow/filesystem/s3fs.h>

#include "datashard/file_system.h"
#include "datashard/io/s3_client.h"
#include "datashard/util/uuid.h"

namespace datashard {
namespace {

using io::HttpResponse;
using io::S3Client;
using io::S3Path;

std::string ParentOf(const std::string& key) {
  const auto slash = key.find_last_of('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash);
}

Result<std::shared_ptr<arrow::fs::FileSystem>> MakeArrowS3(const S3Client& client) {
  const S3Options& options = client.options();
  ARROW_RETURN_NOT_OK(arrow::fs::EnsureS3Initialized());
  auto arrow_options =
      arrow::fs::S3Options::FromAccessKey(options.access_key, options.secret_key, options.session_token);
  arrow_options.region = options.region;
  if (!options.endpoint.empty()) {
    arrow_options.scheme = client.scheme();
    arrow_options.endpoint_override = client.host();
  }
  arrow_options.force_virtual_addressing = options.virtual_host_style;
  arrow_options.request_timeout = options.request_timeout_s;
  arrow_options.connect_timeout = 10;
  ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::S3FileSystem::Make(arrow_options));
  // Arrow's S3 support is process-global and must be finalised before exit.
  // Registered after the first client exists, so that it runs before the
  // static objects that client created are destroyed.
  static std::once_flag finalize_at_exit;
  std::call_once(finalize_at_exit, [] { std::atexit([] { (void)arrow::fs::EnsureS3Finalized(); }); });
  return std::shared_ptr<arrow::fs::FileSystem>(std::move(fs));
}

std::string ArrowPath(const S3Path& path) { return path.key.empty() ? path.bucket : path.bucket + "/" + path.key; }

Status ArrowError(const std::string& what, const std::string& path, const arrow::Status& status) {
  return IOError("cannot ", what, " ", path, ": ", status.message());
}

class S3FileSystemImpl final : public FileSystem {
 public:
  S3FileSystemImpl(S3Client client, std::shared_ptr<arrow::fs::FileSystem> arrow)
      : client_(std::move(client)), arrow_(std::move(arrow)) {}

  Result<std::string> ReadFile(const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(S3Path p, io::ParseS3Path(path));
    HttpResponse response = client_.SendIdempotent("GET", p);
    if (response.status != 200) return Error("read", path, p, response);
    return std::move(response.body);
  }

  Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(S3Path p, io::ParseS3Path(path));
    // The size from our own HEAD spares Arrow its HEAD-plus-listing probe.
    ARROW_ASSIGN_OR_RAISE(FileInfo info, GetFileInfo(path));
    arrow::fs::FileInfo known(ArrowPath(p), arrow::fs::FileType::File);
    known.set_size(info.size);
    auto file = arrow_->OpenInputFile(known);
    if (!file.ok()) return ArrowError("open", path, file.status());
    return *file;
  }

  // One HEAD: the engine asks about objects, never about "directories"
  // (Arrow's GetFileInfo adds a listing to tell a missing key from a prefix,
  // which doubled the cost of every probe for the next version).
  Result<FileInfo> GetFileInfo(const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(S3Path p, io::ParseS3Path(path));
    HttpResponse head = client_.SendIdempotent("HEAD", p);
    if (head.status != 200) return Error("stat", path, p, head);
    FileInfo out;
    out.path = path;
    out.size = std::max<int64_t>(head.content_length, 0);
    out.mtime_ms = head.mtime_ms;
    return out;
  }

  Result<bool> Exists(const std::string& path) override {
    auto info = GetFileInfo(path);
    if (info.ok()) return true;
    if (IsNotFound(info.status())) return false;
    return info.status();
  }

  Result<std::vector<FileInfo>> ListDir(const std::string& dir) override {
    ARROW_ASSIGN_OR_RAISE(S3Path p, io::ParseS3Path(dir));
    arrow::fs::FileSelector selector;
    selector.base_dir = ArrowPath(p);
    selector.allow_not_found = true;  // an empty prefix is an empty directory
    selector.recursive = false;
    auto listed = arrow_->GetFileInfo(selector);
    if (!listed.ok()) return ArrowError("list", dir, listed.status());
    std::vector<FileInfo> out;
    out.reserve(listed->size());
    for (const auto& info : *listed) out.push_back(ToFileInfo(info, info.base_name()));
    return out;
  }

  Status CreateDir(const std::string&) override { return Status::OK(); }

  Status WriteNewFile(const std::string& path, std::string_view data, Durability) override {
    ARROW_ASSIGN_OR_RAISE(S3Path p, io::ParseS3Path(path));
    ARROW_RETURN_NOT_OK(EnsureConditionalWrites(p));
    // New files have unique names, so repeating an ambiguous PUT is harmless.
    HttpResponse response = client_.SendIdempotent("PUT", p, data);
    if (response.status != 200) return Error("write", path, p, response);
    return Status::OK();
  }

  Status Sync(const std::vector<std::string>&) override { return Status::OK(); }

  Status PublishIfAbsent(const std::string& path, std::string_view data, Durability,
                         const std::vector<std::string>&) override {
    ARROW_ASSIGN_OR_RAISE(S3Path p, io::ParseS3Path(path));
    ARROW_RETURN_NOT_OK(EnsureConditionalWrites(p));
    if (!client_.options().require_conditional_writes) return PublishUnconditionally(path, p, data);
    bool ambiguous = false;  // some attempt may have landed without our seeing the answer
    HttpResponse response;
    for (int attempt = 1; attempt <= client_.options().max_attempts; ++attempt) {
      if (attempt > 1) S3Client::Backoff(attempt - 1);
      response = client_.Send("PUT", p, data, {{"If-None-Match", "*"}});
      if (response.status == 200) return Status::OK();
      // 409: a concurrent conditional write to the key was in progress and
      // ours was refused without effect (AWS asks for a retry).
      if (response.status == 409) continue;
      if (response.status == 412) {
        // Present now: another writer's, or ours. Ours is possible even on the
        // first attempt: libcurl silently resends a request whose reused
        // connection broke, so a 412 may answer our own earlier delivery.
        // Only the bytes tell; reading them costs one GET per lost race.
        return ReadBack(path, p, data);
      }
      if (io::IsAmbiguous(response)) {
        ambiguous = true;
      } else if (!io::IsThrottled(response) && !(response.status == 0 && !response.sent)) {
        return Error("publish", path, p, response);  // a definite refusal (4xx)
      }
    }
    if (!ambiguous) return Error("publish", path, p, response);
    return ReadBack(path, p, data);
  }

  Status ReplaceFile(const std::string& path, std::string_view data) override {
    ARROW_ASSIGN_OR_RAISE(S3Path p, io::ParseS3Path(path));
    ARROW_RETURN_NOT_OK(EnsureConditionalWrites(p));
    HttpResponse response = client_.SendIdempotent("PUT", p, data);
    if (response.status != 200) return Error("write", path, p, response);
    return Status::OK();
  }

  Status DeleteFile(const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(S3Path p, io::ParseS3Path(path));
    HttpResponse response = client_.SendIdempotent("DELETE", p);
    if (response.status != 204 && response.status != 200) return Error("delete", path, p, response);
    return Status::OK();
  }

  Status SyncDir(const std::string&) override { return Status::OK(); }

 private:
  // The failure of a request, naming the object both as the table knows it
  // and as the endpoint was asked for it.
  Status Error(std::string_view what, const std::string& path, const S3Path& p, const HttpResponse& response) const {
    return io::ResponseError(what, path + " (" + client_.UrlFor(p) + ")", response);
  }

  static FileInfo ToFileInfo(const arrow::fs::FileInfo& info, std::string name) {
    FileInfo out;
    out.path = std::move(name);
    out.is_dir = info.type() == arrow::fs::FileType::Directory;
    out.size = out.is_dir ? 0 : info.size();
    out.mtime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(info.mtime().time_since_epoch()).count();
    return out;
  }

  // After an attempt whose answer was lost: the object decides. Our exact
  // bytes (which name a fresh snapshot id) mean our PUT landed.
  Status ReadBack(const std::string& path, const S3Path& p, std::string_view data) {
    HttpResponse response = client_.SendIdempotent("GET", p);
    if (response.status == 200) {
      if (response.body == data) return Status::OK();
      return Status::AlreadyExists("publish ", path, ": another writer created it first");
    }
    if (response.status == 404 && response.error_code != "NoSuchBucket") {
      return MakeError(ErrorKind::kAmbiguousCommit,
                       "publishing " + path +
                           " failed without an answer from the store, and the object is absent now; a request "
                           "still in flight may yet create it, reload the table to find out");
    }
    return MakeError(ErrorKind::kAmbiguousCommit, "publishing " + path + " failed without an answer (" +
                                                      Error("read back", path, p, response).message() + ")");
  }

  // The single-writer opt-in for stores that ignore If-None-Match: refuse if
  // the object is there, then PUT. Two writers at once can lose a commit.
  Status PublishUnconditionally(const std::string& path, const S3Path& p, std::string_view data) {
    HttpResponse head = client_.SendIdempotent("HEAD", p);
    if (head.status == 200) return Status::AlreadyExists("publish ", path, ": it exists already");
    if (head.status != 404) return Error("check", path, p, head);
    HttpResponse response = client_.SendIdempotent("PUT", p, data);
    if (response.status != 200) return Error("publish", path, p, response);
    return Status::OK();
  }

  // Before the first write to a bucket: the store must refuse a second
  // If-None-Match create of one key, and let exactly one of two concurrent
  // creators win. Otherwise concurrent commits would overwrite each other
  // silently, so nothing is written at all.
  Status EnsureConditionalWrites(const S3Path& target) {
    if (!client_.options().require_conditional_writes) return Status::OK();
    static std::mutex mutex;
    static auto* verdicts = new std::map<std::string, Status>();  // never destroyed: used until exit
    const std::string key = client_.options().endpoint + "|" + target.bucket;
    std::lock_guard<std::mutex> lock(mutex);
    auto found = verdicts->find(key);
    if (found != verdicts->end()) return found->second;
    // A store that could not be reached may be reachable later: only a
    // verdict is remembered, not a failure to probe.
    ARROW_ASSIGN_OR_RAISE(std::string refusal, ProbeConditionalWrites(target));
    const std::string where = client_.options().endpoint.empty() ? "AWS S3" : client_.options().endpoint;
    Status verdict;
    if (!refusal.empty()) {
      verdict = IOError("the S3 endpoint ", where, " (bucket \"", target.bucket,
                        "\") does not enforce conditional writes: ", refusal,
                        ". Concurrent commits there would overwrite each other, so nothing was written. If only "
                        "ONE process ever writes to these tables, set DATASHARD_S3_USE_CONDITIONAL_WRITES=false "
                        "to commit without them");
    }
    verdicts->emplace(key, verdict);
    return verdict;
  }

  // Empty when the store enforces If-None-Match; otherwise what it did wrong.
  Result<std::string> ProbeConditionalWrites(const S3Path& target) {
    const std::string dir = ParentOf(target.key);
    const std::string prefix = (dir.empty() ? "" : dir + "/") + ".datashard-probe-" + NewUuid();
    const S3Path first{target.bucket, prefix + "-a"};
    const S3Path second{target.bucket, prefix + "-b"};
    auto create = [this](const S3Path& p, const std::string& body) {
      for (int attempt = 1;; ++attempt) {
        HttpResponse r = client_.Send("PUT", p, body, {{"If-None-Match", "*"}});
        if (!io::IsThrottled(r) || attempt >= client_.options().max_attempts) return r;
        S3Client::Backoff(attempt);
      }
    };
    HttpResponse created = create(first, "probe");
    if (created.status != 200) return io::ResponseError("write a probe object to", client_.UrlFor(first), created);
    HttpResponse again = create(first, "probe again");
    Result<std::string> refusal = std::string();
    if (again.status == 200) {
      refusal = "a second PUT with If-None-Match: * of " + client_.UrlFor(first) + " succeeded";
    } else if (again.status != 412 && again.status != 409) {
      refusal = io::ResponseError("probe conditional writes at", client_.UrlFor(first), again);
    } else {
      // Two creators at the same moment: exactly one may win.
      auto racer = std::async(std::launch::async, [&] { return create(second, "racer 1"); });
      HttpResponse mine = create(second, "racer 2");
      HttpResponse theirs = racer.get();
      const int winners = (mine.status == 200) + (theirs.status == 200);
      if (winners != 1) {
        refusal = std::to_string(winners) + " of 2 concurrent PUTs with If-None-Match: * created " +
                  client_.UrlFor(second) + " (HTTP " + std::to_string(mine.status) + " and " +
                  std::to_string(theirs.status) + ")";
      }
    }
    (void)client_.SendIdempotent("DELETE", first);
    (void)client_.SendIdempotent("DELETE", second);
    return refusal;
  }

  S3Client client_;
  std::shared_ptr<arrow::fs::FileSystem> arrow_;
};

}  // namespace

bool IsS3Path(std::string_view path) { return path.substr(0, 5) == "s3://"; }

Result<std::shared_ptr<FileSystem>> MakeS3FileSystem(const S3Options& options) {
  if (options.access_key.empty() || options.secret_key.empty()) {
    return InvalidArgument(
        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or DATASHARD_S3_ACCESS_KEY and "
        "DATASHARD_S3_SECRET_KEY), or a profile in ~/.aws/credentials");
  }
  if (options.max_attempts < 1) return InvalidArgument("S3Options.max_attempts must be at least 1");
  S3Client client(options);
  ARROW_ASSIGN_OR_RAISE(auto arrow, MakeArrowS3(client));
  return std::make_shared<S3FileSystemImpl>(std::move(client), std::move(arrow));
}

Result<std::shared_ptr<FileSystem>> FileSystemForPath(const std::string& path) {
  if (!IsS3Path(path)) return LocalFileSystem();
  ARROW_ASSIGN_OR_RAISE(S3Options options, S3OptionsFromEnvironment());
  // One file system per configuration and process: a forked child builds its
  // own rather than share its parent's connections.
  const std::string key = options.endpoint + "|" + options.region + "|" + options.access_key + "|" +
                          options.secret_key + "|" + options.session_token + "|" +
                          std::to_string(options.virtual_host_style) +
                          std::to_string(options.require_conditional_writes) + "|" + std::to_string(::getpid());
  static std::mutex mutex;
  static auto* cache = new std::map<std::string, std::shared_ptr<FileSystem>>();  // used until exit
  std::lock_guard<std::mutex> lock(mutex);
  auto found = cache->find(key);
  if (found != cache->end()) return found->second;
  ARROW_ASSIGN_OR_RAISE(auto fs, MakeS3FileSystem(options));
  cache->emplace(key, fs);
  return fs;
}

}  // namespace datashard
