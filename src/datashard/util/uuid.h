// Random identifiers: UUIDv4 strings for file names and positive 63-bit ids for snapshots.
#pragma once

#include <cstdint>
#include <string>

namespace datashard {

// 64 random bits. Safe across fork(): a child reseeds instead of repeating
// its parent's sequence (which would collide file names and snapshot ids).
uint64_t RandomBits();

std::string NewUuid();
// Positive, non-zero, 63-bit (Iceberg snapshot ids must be positive longs).
int64_t NewSnapshotId();

}  // namespace datashard
