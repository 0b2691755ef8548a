// Random identifiers: UUIDv4 strings for file names and positive 63-bit ids for snapshots.
#pragma once

#include <cstdint>
#include <string>

namespace datashard {

std::string NewUuid();
// Positive, non-zero, 63-bit (Iceberg snapshot ids must be positive longs).
int64_t NewSnapshotId();

}  // namespace datashard
