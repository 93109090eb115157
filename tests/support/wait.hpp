// Test support: waiting for a condition instead of sleeping for a guessed time.
#pragma once

#include <chrono>
#include <functional>

namespace honeyman::testing {

// Polls `condition` (every 5 ms) until it holds or `limit` passes; returns whether it held. A
// deadline for an event to happen, never a timing assertion.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(30));

// Returns at the start of the next whole second of the wall clock: for behaviour defined in whole
// seconds (JWT iat/exp), a deterministic wait rather than a guessed sleep.
void wait_for_next_second();

}  // namespace honeyman::testing
