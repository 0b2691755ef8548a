// Unit tests of the S3 pieces that need no server: path parsing, URLs,
// configuration from the environment, and a store that cannot be reached.
// The behaviour against a real S3 server is tested end to end by the Python
// suite (tests/python/test_s3.py), which starts one on loopback.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "datashard/file_system.h"
#include "datashard/format/file_names.h"
#include "datashard/io/s3_client.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

// Sets environment variables for one test and restores them after it.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (const char* name : kAll) {
      const char* old = ::getenv(name);
      saved_.emplace_back(name, old == nullptr ? std::optional<std::string>() : std::string(old));
      ::unsetenv(name);
    }
    for (const auto& [name, value] : values) ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name, value->c_str(), 1);
      } else {
        ::unsetenv(name);
      }
    }
  }

 private:
  static constexpr const char* kAll[] = {"DATASHARD_S3_ENDPOINT",
                                         "DATASHARD_S3_REGION",
                                         "DATASHARD_S3_ACCESS_KEY",
                                         "DATASHARD_S3_SECRET_KEY",
                                         "DATASHARD_S3_ADDRESSING_STYLE",
                                         "DATASHARD_S3_USE_CONDITIONAL_WRITES",
                                         "AWS_ENDPOINT_URL_S3",
                                         "AWS_ENDPOINT_URL",
                                         "AWS_REGION",
                                         "AWS_DEFAULT_REGION",
                                         "AWS_ACCESS_KEY_ID",
                                         "AWS_SECRET_ACCESS_KEY",
                                         "AWS_SESSION_TOKEN",
                                         "AWS_PROFILE",
                                         "AWS_DEFAULT_PROFILE",
                                         "AWS_SHARED_CREDENTIALS_FILE",
                                         "AWS_CONFIG_FILE",
                                         "AWS_S3_ADDRESSING_STYLE",
                                         "HOME"};
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

TEST(S3PathTest, SplitsBucketAndKey) {
  DS_ASSIGN_OR_FAIL(auto path, io::ParseS3Path("s3://bucket/a/b/v1.metadata.json"));
  EXPECT_EQ(path.bucket, "bucket");
  EXPECT_EQ(path.key, "a/b/v1.metadata.json");
  DS_ASSIGN_OR_FAIL(auto root, io::ParseS3Path("s3://bucket"));
  EXPECT_EQ(root.key, "");
  EXPECT_FALSE(io::ParseS3Path("s3:///key").ok());
  EXPECT_FALSE(io::ParseS3Path("/local/path").ok());
}

TEST(S3PathTest, TableLocationsKeepTheirBucketAndMayNotClimbOutOfIt) {
  DS_ASSIGN_OR_FAIL(auto location, format::NormalizeLocation("s3://bucket//prefix/./table/"));
  EXPECT_EQ(location, "s3://bucket/prefix/table");
  DS_ASSIGN_OR_FAIL(auto root, format::NormalizeLocation("s3://bucket"));
  EXPECT_EQ(root, "s3://bucket");
  EXPECT_FALSE(format::NormalizeLocation("s3://bucket/../other/t").ok());
  EXPECT_FALSE(format::NormalizeLocation("s3:///t").ok());
  EXPECT_FALSE(format::NormalizeLocation("gs://bucket/t").ok());
  DS_ASSIGN_OR_FAIL(auto local, format::NormalizeLocation("file:///tmp/x/../t"));
  EXPECT_EQ(local, "/tmp/t");
  // A manifest in another bucket is outside the table, however its key reads.
  EXPECT_FALSE(format::CheckInsideLocation("s3://bucket/t", "s3://other/t/data/x.parquet").ok());
  EXPECT_TRUE(format::CheckInsideLocation("s3://bucket/t", "s3://bucket/t/data/x.parquet").ok());
}

TEST(S3ClientTest, UrlsArePathOrVirtualHostStyleWithEncodedKeys) {
  S3Options options;
  options.endpoint = "http://127.0.0.1:9000";
  io::S3Client path_style(options);
  EXPECT_EQ(path_style.UrlFor({"b", "t/data/a b+ü.parquet"}), "http://127.0.0.1:9000/b/t/data/a%20b%2B%C3%BC.parquet");
  options.endpoint.clear();
  options.region = "eu-west-1";
  options.virtual_host_style = true;
  io::S3Client aws(options);
  EXPECT_EQ(aws.UrlFor({"b", "k"}), "https://b.s3.eu-west-1.amazonaws.com/k");
}

TEST(S3OptionsTest, OriginalPackageVariablesComeFirst) {
  ScopedEnv env({{"DATASHARD_S3_ENDPOINT", "http://127.0.0.1:9000/"},
                 {"DATASHARD_S3_ACCESS_KEY", "ds-key"},
                 {"DATASHARD_S3_SECRET_KEY", "ds-secret"},
                 {"DATASHARD_S3_REGION", "eu-central-1"},
                 {"DATASHARD_S3_USE_CONDITIONAL_WRITES", "false"},
                 {"AWS_ACCESS_KEY_ID", "aws-key"},
                 {"AWS_SECRET_ACCESS_KEY", "aws-secret"},
                 {"AWS_REGION", "us-west-2"}});
  DS_ASSIGN_OR_FAIL(S3Options options, S3OptionsFromEnvironment());
  EXPECT_EQ(options.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(options.access_key, "ds-key");
  EXPECT_EQ(options.secret_key, "ds-secret");
  EXPECT_EQ(options.region, "eu-central-1");
  EXPECT_FALSE(options.virtual_host_style);  // custom endpoints get path-style
  EXPECT_FALSE(options.require_conditional_writes);
}

TEST(S3OptionsTest, ProfileFilesWhenNoVariablesAreSet) {
  testing::TempDir dir;
  std::ofstream(dir.Join("credentials")) << "[default]\naws_access_key_id = d\naws_secret_access_key = dd\n"
                                         << "[work]\naws_access_key_id = w\naws_secret_access_key = ww\n";
  std::ofstream(dir.Join("config")) << "[profile work]\nregion = ap-south-1\n";
  ScopedEnv env({{"AWS_SHARED_CREDENTIALS_FILE", dir.Join("credentials").c_str()},
                 {"AWS_CONFIG_FILE", dir.Join("config").c_str()},
                 {"AWS_PROFILE", "work"}});
  DS_ASSIGN_OR_FAIL(S3Options options, S3OptionsFromEnvironment());
  EXPECT_EQ(options.access_key, "w");
  EXPECT_EQ(options.secret_key, "ww");
  EXPECT_EQ(options.region, "ap-south-1");
  EXPECT_TRUE(options.virtual_host_style);  // AWS itself
  EXPECT_TRUE(options.require_conditional_writes);
}

TEST(S3OptionsTest, BadSettingsAreClearErrors) {
  ScopedEnv env({{"DATASHARD_S3_ADDRESSING_STYLE", "sideways"}});
  auto options = S3OptionsFromEnvironment();
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("sideways"), std::string::npos);

  ScopedEnv no_keys({{"HOME", "/nonexistent"}});
  auto fs = FileSystemForPath("s3://bucket/t");
  ASSERT_FALSE(fs.ok());
  EXPECT_NE(fs.status().message().find("no S3 credentials"), std::string::npos);
}

TEST(S3FileSystemTest, AnEndpointThatIsDownIsAnErrorNamingIt) {
  S3Options options;
  options.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  options.access_key = "k";
  options.secret_key = "s";
  options.max_attempts = 2;
  DS_ASSIGN_OR_FAIL(auto fs, MakeS3FileSystem(options));
  auto read = fs->ReadFile("s3://bucket/t/metadata/version-hint.text");
  ASSERT_FALSE(read.ok());
  EXPECT_FALSE(IsNotFound(read.status()));
  EXPECT_NE(read.status().message().find("127.0.0.1:1"), std::string::npos) << read.status().ToString();
  // Nothing could be written either, and the failure says so rather than
  // pretending the commit might have happened.
  Status published = fs->PublishIfAbsent("s3://bucket/t/metadata/v1.metadata.json", "{}", Durability::kFsync);
  ASSERT_FALSE(published.ok());
  EXPECT_FALSE(IsKind(published, ErrorKind::kAmbiguousCommit));
}

}  // namespace
}  // namespace datashard
