#include "http/detail/connection_table.hpp"

#include <algorithm>

#include "http/http.hpp"

namespace honeyman::http {

ConnectionLimits default_connection_limits(std::uint64_t open_files_limit, std::size_t total) {
  // Beside the connections the process needs descriptors for the store (PostgreSQL pool, or
  // SQLite's database, WAL and shared-memory files per connection), the broker and Redis links,
  // logs, the event loop and the connections being refused or shed at this moment.
  const std::uint64_t reserve = std::max<std::uint64_t>(128, open_files_limit / 10);
  const std::uint64_t derived = open_files_limit > reserve + 16 ? open_files_limit - reserve : 16;
  ConnectionLimits limits;
  limits.total = total > 0 ? total : static_cast<std::size_t>(derived);
  limits.per_client = std::clamp<std::size_t>(limits.total / 8, 8, 1024);
  return limits;
}

namespace detail {

ConnectionTable::ConnectionTable(std::size_t max_total, std::size_t max_per_client)
    : max_total_(std::max<std::size_t>(1, max_total)),
      max_per_client_(std::max<std::size_t>(1, max_per_client)) {}

ConnectionTable::Admission ConnectionTable::admit(const Ptr& conn) {
  Admission out;
  std::lock_guard lock(mutex_);
  const auto& key = conn->client_key;
  if (auto it = key.empty() ? clients_.end() : clients_.find(key);
      it != clients_.end() && it->second.open >= max_per_client_) {
    if (it->second.idle.empty()) return out;
    out.shed.push_back(shed(*it->second.idle.front()));
  }
  if (open_ >= max_total_) {
    if (idle_.empty()) return out;
    out.shed.push_back(shed(*idle_.front()));
  }
  ++open_;
  if (!key.empty()) ++clients_[key].open;  // looked up again: shedding may have erased it
  conn->counted = true;
  out.admitted = true;
  return out;
}

bool ConnectionTable::set_idle(const Ptr& conn, bool idle) {
  std::lock_guard lock(mutex_);
  if (!conn->counted) return false;
  if (conn->idle == idle) return true;
  Client* client = conn->client_key.empty() ? nullptr : &clients_.at(conn->client_key);
  if (!idle) {
    unidle(*conn, client);
    return true;
  }
  conn->idle = true;
  conn->in_all = idle_.insert(idle_.end(), conn.get());
  if (client) conn->in_client = client->idle.insert(client->idle.end(), conn.get());
  return true;
}

ConnectionTable::Ptr ConnectionTable::shed_oldest() {
  std::lock_guard lock(mutex_);
  if (idle_.empty()) return nullptr;
  return shed(*idle_.front());
}

void ConnectionTable::release(const Ptr& conn) {
  std::lock_guard lock(mutex_);
  if (conn->counted) uncount(*conn);
}

std::size_t ConnectionTable::size() const {
  std::lock_guard lock(mutex_);
  return open_;
}

std::size_t ConnectionTable::clients() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

void ConnectionTable::unidle(Connection& conn, Client* client) {
  if (!conn.idle) return;
  idle_.erase(conn.in_all);
  if (client) client->idle.erase(conn.in_client);
  conn.idle = false;
}

ConnectionTable::Ptr ConnectionTable::shed(Connection& conn) {
  conn.shed = true;
  uncount(conn);
  return conn.shared_from_this();
}

void ConnectionTable::uncount(Connection& conn) {
  Client* client = nullptr;
  if (!conn.client_key.empty()) {
    auto it = clients_.find(conn.client_key);
    if (it != clients_.end()) client = &it->second;
  }
  unidle(conn, client);
  conn.counted = false;
  --open_;
  if (client && --client->open == 0) clients_.erase(conn.client_key);
}

}  // namespace detail
}  // namespace honeyman::http
