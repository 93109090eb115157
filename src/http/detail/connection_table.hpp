// Admission control for connections: caps in total and per client, shedding idle keep-alive
// connections first. Holds no sockets: it tells the server which connections to close, and the
// server closes them on their own strands. Thread-safe (one mutex; every call is O(1) but the
// bookkeeping of a client's first and last connection).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace honeyman::http::detail {

// One open connection, as the table and the server's shutdown see it.
struct Connection : std::enable_shared_from_this<Connection> {
  Connection(std::string key, boost::asio::any_io_executor executor)
      : client_key(std::move(key)), strand(std::move(executor)) {}

  // The client's limit key (detail::limit_key); "" for a trusted proxy, which carries many
  // clients and is held only to the total.
  const std::string client_key;
  const boost::asio::any_io_executor strand;
  // Read and written on `strand` only:
  boost::beast::tcp_stream* stream = nullptr;  // null once the session has ended or upgraded
  bool reading_idle = false;  // a read for the next request is pending: cancelling it is safe
  // Set by the table when it sheds the connection: its session ends after the request in
  // progress, if any.
  std::atomic<bool> shed{false};

 private:
  friend class ConnectionTable;
  // Guarded by the table's mutex.
  bool counted = false;
  bool idle = false;
  std::list<Connection*>::iterator in_all, in_client;
};

class ConnectionTable {
 public:
  using Ptr = std::shared_ptr<Connection>;

  ConnectionTable(std::size_t max_total, std::size_t max_per_client);

  struct Admission {
    bool admitted = false;
    std::vector<Ptr> shed;  // made room for this one: close them (each is already uncounted)
  };
  // Counts `conn` if there is room for it. At the client's cap the client's oldest idle
  // connection is shed (none idle: refused); then, at the total cap, the oldest idle one of
  // anyone (none idle: refused). A connection in the middle of a request is never shed.
  Admission admit(const Ptr& conn);
  // Idle: waiting for its next request (or its first). Returns false, and changes nothing, when
  // the connection has been shed: the caller closes it instead of reading.
  bool set_idle(const Ptr& conn, bool idle);
  // Sheds the oldest idle connection of anyone (descriptors ran out); null when none is idle.
  Ptr shed_oldest();
  // The connection has closed (or is closing): no longer counted. Idempotent.
  void release(const Ptr& conn);

  std::size_t size() const;     // counted connections
  std::size_t clients() const;  // distinct client keys among them

 private:
  struct Client {
    std::size_t open = 0;
    std::list<Connection*> idle;  // oldest first
  };
  void unidle(Connection& conn, Client* client);
  Ptr shed(Connection& conn);  // mutex held
  void uncount(Connection& conn);

  const std::size_t max_total_;
  const std::size_t max_per_client_;
  mutable std::mutex mutex_;
  std::size_t open_ = 0;
  std::list<Connection*> idle_;  // every idle connection, oldest first
  std::unordered_map<std::string, Client> clients_;
};

}  // namespace honeyman::http::detail
