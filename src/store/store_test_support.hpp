#pragma once
// For the unit tests of the modules above the store: they run on a private SQLite database in
// memory, which needs no server and starts empty for each test.

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "store/store.hpp"

namespace honeyman::store::test_support {

// A migrated in-memory store, or nullptr after a failed expectation. `config` sets the pool
// sizes; its database_url is replaced.
inline std::unique_ptr<Store> memory_store(StoreConfig config = {}) {
  config.database_url = "sqlite:///:memory:";
  auto opened = open_store(config);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return nullptr;
  auto migrated = (*opened)->migrate();
  EXPECT_TRUE(migrated) << migrated.error().message;
  if (!migrated) return nullptr;
  return std::move(*opened);
}

}  // namespace honeyman::store::test_support
