#include "datashard/file_system.h"

namespace datashard {

bool IsNotFound(const Status& status) { return status.IsKeyError(); }

}  // namespace datashard
