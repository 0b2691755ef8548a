#include "datashard/util/uuid.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>

namespace datashard {
namespace {

TEST(UuidTest, LooksLikeAVersion4Uuid) {
  std::string id = NewUuid();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_TRUE(std::strchr("89ab", id[19]) != nullptr);
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(NewUuid()).second);
  EXPECT_GT(NewSnapshotId(), 0);
}

// A child forked after the parent drew ids must not replay the parent's
// sequence: identical data file names and snapshot ids would collide.
TEST(UuidTest, ForkedChildrenDrawDifferentIds) {
  (void)NewUuid();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::string id = NewUuid();
    ssize_t ignored = ::write(fds[1], id.data(), id.size());
    (void)ignored;
    ::_exit(0);
  }
  std::string mine = NewUuid();
  char buffer[64] = {};
  ASSERT_EQ(::read(fds[0], buffer, 36), 36);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_NE(std::string(buffer, 36), mine);
}

}  // namespace
}  // namespace datashard
