#include "datashard/util/uuid.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>

namespace datashard {
namespace {

struct Generator {
  pid_t pid = -1;
  std::mt19937_64 rng;
};

std::mt19937_64& Rng() {
  // Seeded per thread from the OS, the pid and the clock, and reseeded when
  // the pid changes: a forked child must not replay its parent's sequence.
  thread_local Generator generator;
  const pid_t pid = getpid();
  if (generator.pid != pid) {
    std::random_device device;
    std::seed_seq seed{device(),
                       device(),
                       device(),
                       device(),
                       static_cast<unsigned>(pid),
                       static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
    generator.rng.seed(seed);
    generator.pid = pid;
  }
  return generator.rng;
}

}  // namespace

uint64_t RandomBits() { return Rng()(); }

std::string NewUuid() {
  uint64_t hi = Rng()();
  uint64_t lo = Rng()();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof(out), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return out;
}

int64_t NewSnapshotId() {
  int64_t id = 0;
  while (id == 0) id = static_cast<int64_t>(Rng()() & 0x7FFFFFFFFFFFFFFFULL);
  return id;
}

}  // namespace datashard
