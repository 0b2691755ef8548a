// Where S3 settings come from, in order: the original package's DATASHARD_S3_*
// variables (so its users' environments keep working), the AWS variables, and
// the AWS profile files (~/.aws/credentials and ~/.aws/config, or the files
// AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE name, section AWS_PROFILE).
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>

#include "datashard/file_system.h"

namespace datashard {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::string FirstSet(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    std::string value = Env(name);
    if (!value.empty()) return value;
  }
  return {};
}

std::string Trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return {};
  const auto end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

// The keys of one [section] of an INI-style AWS file; empty if absent.
std::map<std::string, std::string> ReadProfile(const std::string& file, const std::string& section) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      inside = Trim(line.substr(1, line.size() - 2)) == section;
      continue;
    }
    const auto eq = line.find('=');
    if (inside && eq != std::string::npos) out[Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return out;
}

bool IsFalse(std::string value) {
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  return value == "false" || value == "0" || value == "no" || value == "off";
}

}  // namespace

Result<S3Options> S3OptionsFromEnvironment() {
  S3Options options;
  const std::string home = Env("HOME");
  const std::string profile = FirstSet({"AWS_PROFILE", "AWS_DEFAULT_PROFILE"});
  const std::string section = profile.empty() ? "default" : profile;
  std::string credentials_file = Env("AWS_SHARED_CREDENTIALS_FILE");
  if (credentials_file.empty() && !home.empty()) credentials_file = home + "/.aws/credentials";
  std::string config_file = Env("AWS_CONFIG_FILE");
  if (config_file.empty() && !home.empty()) config_file = home + "/.aws/config";
  auto credentials = ReadProfile(credentials_file, section);
  auto config = ReadProfile(config_file, section == "default" ? section : "profile " + section);

  options.endpoint = FirstSet({"DATASHARD_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
  if (options.endpoint.empty()) options.endpoint = config["endpoint_url"];
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  if (!options.endpoint.empty() && options.endpoint.find("://") == std::string::npos) {
    options.endpoint = "https://" + options.endpoint;
  }
  std::string region = FirstSet({"DATASHARD_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"});
  if (region.empty()) region = config["region"];
  if (!region.empty()) options.region = region;

  options.access_key = FirstSet({"DATASHARD_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"});
  options.secret_key = FirstSet({"DATASHARD_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"});
  if (!options.access_key.empty()) {
    options.session_token = Env("AWS_SESSION_TOKEN");
  } else {
    options.access_key = credentials["aws_access_key_id"];
    options.secret_key = credentials["aws_secret_access_key"];
    options.session_token = credentials["aws_session_token"];
  }

  // AWS itself prefers virtual-host addressing; custom endpoints (MinIO-style
  // servers, loopback tests) usually want the bucket in the path.
  const std::string style = FirstSet({"DATASHARD_S3_ADDRESSING_STYLE", "AWS_S3_ADDRESSING_STYLE"});
  if (style.empty()) {
    options.virtual_host_style = options.endpoint.empty();
  } else if (style == "virtual" || style == "path") {
    options.virtual_host_style = style == "virtual";
  } else {
    return InvalidArgument("DATASHARD_S3_ADDRESSING_STYLE must be \"path\" or \"virtual\", not \"", style, "\"");
  }
  options.require_conditional_writes = !IsFalse(Env("DATASHARD_S3_USE_CONDITIONAL_WRITES"));
  return options;
}

}  // namespace datashard
