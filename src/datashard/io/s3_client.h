// Signed S3 requests over libcurl, for what Arrow's S3FileSystem cannot send.
//
// The commit point on object storage is `PUT v<N+1>.metadata.json` with
// `If-None-Match: *`; Arrow's client has no way to add that header, so whole
// objects (metadata, manifests, data files, the hint) go through this client,
// signed with libcurl's built-in AWS SigV4. Arrow still serves ranged reads
// and listings. Requests are classified so that callers never guess: an answer
// the server gave, a failure before any byte left (safe to retry anything),
// or a failure after the body may have reached the server (ambiguous).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "datashard/file_system.h"
#include "datashard/status.h"

namespace datashard::io {

// "s3://bucket/key" split into its parts; the key may be empty.
struct S3Path {
  std::string bucket;
  std::string key;
};
Result<S3Path> ParseS3Path(std::string_view path);

struct HttpResponse {
  long status = 0;  // 0 when no answer arrived
  std::string body;
  std::string error_code;  // the <Code> of an S3 error document, if any
  std::string transport_error;
  bool sent = false;            // the request may have reached the server
  int64_t content_length = -1;  // of the object, for HEAD
  int64_t mtime_ms = 0;         // Last-Modified, for HEAD
};

class S3Client {
 public:
  explicit S3Client(S3Options options);

  // One attempt, no retries. `headers` are extra request headers.
  HttpResponse Send(std::string_view method, const S3Path& path, std::string_view body = {},
                    const std::map<std::string, std::string>& headers = {}) const;

  // Retries throttling, server errors and transport failures with jittered
  // exponential backoff. Only for requests that are safe to repeat (GET,
  // HEAD, DELETE, PUT of a uniquely named object or of the hint).
  HttpResponse SendIdempotent(std::string_view method, const S3Path& path, std::string_view body = {}) const;

  // The URL of an object, path-style or virtual-host style as configured.
  std::string UrlFor(const S3Path& path) const;
  const S3Options& options() const { return options_; }
  // The endpoint as a scheme ("http", "https") and a host[:port].
  const std::string& scheme() const { return scheme_; }
  const std::string& host() const { return host_; }

  // Sleeps before retry number `attempt` (1-based): 25 ms doubling to 2 s, jittered.
  static void Backoff(int attempt);

 private:
  S3Options options_;
  std::string scheme_;  // "http" or "https"
  std::string host_;    // host[:port]
};

// True for answers that mean "try again later" without any effect (throttling).
bool IsThrottled(const HttpResponse& response);
// True where the request may or may not have taken effect: a 5xx other than
// throttling, or a transport failure after the request could have been sent.
bool IsAmbiguous(const HttpResponse& response);
// A typed error for a failed request: KeyError for 404, IOError naming the
// endpoint, the object and S3's error code otherwise.
Status ResponseError(std::string_view what, const std::string& url, const HttpResponse& response);

}  // namespace datashard::io
