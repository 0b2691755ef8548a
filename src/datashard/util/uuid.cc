#include "datashard/util/uuid.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>

namespace datashard {
namespace {

std::mt19937_64& Rng() {
  // Seeded per thread from the OS, the pid and the clock so forked processes
  // never share a sequence.
  thread_local std::mt19937_64 rng([] {
    std::random_device device;
    uint64_t seed = (static_cast<uint64_t>(device()) << 32) ^ device();
    seed ^= static_cast<uint64_t>(getpid()) << 17;
    seed ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    return seed;
  }());
  return rng;
}

}  // namespace

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
