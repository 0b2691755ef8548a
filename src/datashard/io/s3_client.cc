#include "datashard/io/s3_client.h"

#include <curl/curl.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "datashard/util/uuid.h"

namespace datashard::io {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One easy handle per thread keeps the connection to the endpoint alive
// between requests. A forked child must not touch its parent's handle: the
// socket is shared with the parent, so the child leaves it alone and opens
// its own.
CURL* ThreadHandle() {
  struct Cached {
    CURL* handle = nullptr;
    pid_t pid = 0;
    ~Cached() {
      if (handle != nullptr && pid == ::getpid()) curl_easy_cleanup(handle);
    }
  };
  thread_local Cached cached;
  if (cached.handle == nullptr || cached.pid != ::getpid()) {
    InitCurlOnce();
    cached.handle = curl_easy_init();
    cached.pid = ::getpid();
  } else {
    curl_easy_reset(cached.handle);
  }
  return cached.handle;
}

std::string HexSha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  std::string hex(2 * SHA256_DIGEST_LENGTH, '0');
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    hex[2 * i] = kDigits[digest[i] >> 4];
    hex[2 * i + 1] = kDigits[digest[i] & 0xF];
  }
  return hex;
}

// Percent-encodes a key for the URL path the way SigV4 canonicalizes it:
// unreserved characters and '/' stay, every other byte becomes %XX.
std::string EncodeKey(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (unsigned char c : key) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string ErrorCodeOf(const std::string& body) {
  const auto open = body.find("<Code>");
  if (open == std::string::npos) return {};
  const auto close = body.find("</Code>", open);
  if (close == std::string::npos) return {};
  return body.substr(open + 6, close - open - 6);
}

class HeaderList {
 public:
  void Add(const std::string& line) { list_ = curl_slist_append(list_, line.c_str()); }
  curl_slist* get() const { return list_; }
  ~HeaderList() { curl_slist_free_all(list_); }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace

Result<S3Path> ParseS3Path(std::string_view path) {
  constexpr std::string_view kScheme = "s3://";
  if (path.substr(0, kScheme.size()) != kScheme) return InvalidArgument("not an s3:// path: ", path);
  std::string_view rest = path.substr(kScheme.size());
  const auto slash = rest.find('/');
  S3Path out;
  out.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) out.key = std::string(rest.substr(slash + 1));
  if (out.bucket.empty()) return InvalidArgument("s3 path without a bucket: ", path);
  return out;
}

S3Client::S3Client(S3Options options) : options_(std::move(options)) {
  std::string endpoint = options_.endpoint;
  if (endpoint.empty()) endpoint = "https://s3." + options_.region + ".amazonaws.com";
  const auto sep = endpoint.find("://");
  scheme_ = sep == std::string::npos ? "https" : endpoint.substr(0, sep);
  host_ = sep == std::string::npos ? endpoint : endpoint.substr(sep + 3);
  while (!host_.empty() && host_.back() == '/') host_.pop_back();
}

std::string S3Client::UrlFor(const S3Path& path) const {
  if (options_.virtual_host_style) return scheme_ + "://" + path.bucket + "." + host_ + "/" + EncodeKey(path.key);
  return scheme_ + "://" + host_ + "/" + path.bucket + "/" + EncodeKey(path.key);
}

HttpResponse S3Client::Send(std::string_view method, const S3Path& path, std::string_view body,
                            const std::map<std::string, std::string>& headers) const {
  CURL* curl = ThreadHandle();
  HttpResponse response;
  if (curl == nullptr) {
    response.transport_error = "libcurl could not create a handle";
    return response;
  }
  const std::string url = UrlFor(path);
  const std::string sigv4 = "aws:amz:" + options_.region + ":s3";
  const std::string credentials = options_.access_key + ":" + options_.secret_key;
  HeaderList header_list;
  // S3 wants the payload hash in a header of its own; libcurl signs it with
  // the rest of the request.
  header_list.Add("x-amz-content-sha256: " + HexSha256(body));
  if (!options_.session_token.empty()) header_list.Add("x-amz-security-token: " + options_.session_token);
  header_list.Add("Expect:");  // no 100-continue round trip
  for (const auto& [name, value] : headers) {
    std::string line = name;
    line += ": ";
    line += value;
    header_list.Add(line);
  }

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERPWD, credentials.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_s * 1000));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_FILETIME, 1L);
  } else if (method == "PUT") {
    header_list.Add("Content-Type: application/octet-stream");
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());

  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    response.transport_error = error_buffer[0] != 0 ? error_buffer : curl_easy_strerror(code);
    // Only a failure to find or reach the server proves nothing was sent.
    response.sent = code != CURLE_COULDNT_RESOLVE_HOST && code != CURLE_COULDNT_CONNECT &&
                    code != CURLE_COULDNT_RESOLVE_PROXY && code != CURLE_UNSUPPORTED_PROTOCOL &&
                    code != CURLE_URL_MALFORMAT;
    response.body.clear();
    return response;
  }
  response.sent = true;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  if (method == "HEAD") {
    curl_off_t length = -1;
    curl_off_t filetime = -1;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    curl_easy_getinfo(curl, CURLINFO_FILETIME_T, &filetime);
    response.content_length = length;
    response.mtime_ms = filetime > 0 ? static_cast<int64_t>(filetime) * 1000 : 0;
  }
  if (response.status >= 300) response.error_code = ErrorCodeOf(response.body);
  return response;
}

HttpResponse S3Client::SendIdempotent(std::string_view method, const S3Path& path, std::string_view body) const {
  HttpResponse response;
  for (int attempt = 1;; ++attempt) {
    response = Send(method, path, body);
    const bool transient = IsThrottled(response) || response.status >= 500 || response.status == 0;
    if (!transient || attempt >= options_.max_attempts) return response;
    Backoff(attempt);
  }
}

void S3Client::Backoff(int attempt) {
  const double cap_ms = std::min(2000.0, 25.0 * static_cast<double>(1 << std::min(attempt - 1, 10)));
  const double jitter = 0.5 + static_cast<double>(RandomBits() % 1000) / 1000.0;  // 0.5x .. 1.5x
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(cap_ms * jitter));
}

bool IsThrottled(const HttpResponse& response) {
  return response.status == 503 || response.status == 429 || response.error_code == "SlowDown";
}

bool IsAmbiguous(const HttpResponse& response) {
  if (IsThrottled(response)) return false;
  return response.status >= 500 || (response.status == 0 && response.sent);
}

Status ResponseError(std::string_view what, const std::string& url, const HttpResponse& response) {
  if (response.status == 0) {
    return IOError("cannot ", what, " ", url, ": ", response.transport_error,
                   " (is the S3 endpoint up and reachable?)");
  }
  const std::string code = response.error_code.empty() ? "" : " " + response.error_code;
  if (response.error_code == "NoSuchBucket") {
    return IOError("cannot ", what, " ", url, ": the bucket does not exist (HTTP 404 NoSuchBucket)");
  }
  if (response.status == 404) return Status::KeyError(what, " ", url, ": no such object");
  if (response.status == 401 || response.status == 403) {
    return IOError("cannot ", what, " ", url, ": access denied (HTTP ", response.status, code,
                   "); check the access key, secret key and region");
  }
  return IOError("cannot ", what, " ", url, ": HTTP ", response.status, code);
}

}  // namespace datashard::io
