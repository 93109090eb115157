// SqlStore: onboarding tokens and dead letters. Included only where a backend instantiates
// SqlStore (see sql_store.hpp).
#pragma once

#include <algorithm>
#include <string>

#include "store/detail/sql_audit.hpp"
#include "store/detail/sql_store.hpp"

namespace honeyman::store::detail {

inline constexpr std::string_view kTokenColumns =
    "token_hash, sensor_name, description, created_by, created_at, expires_at, used_at, "
    "used_by_sensor";

inline constexpr auto read_onboarding_token = [](const auto& row) {
  return OnboardingToken{row.text(0), row.text(1), row.opt_text(2), row.text(3),
                         row.time(4), row.time(5), row.opt_time(6), row.opt_text(7)};
};

template <class B>
Status SqlStore<B>::create_onboarding_token(const OnboardingToken& t, const AuditEntry* audit) {
  static const std::string sql = std::string("INSERT INTO onboarding_tokens (")
                                     .append(kTokenColumns)
                                     .append(") VALUES (")
                                     .append(param_list(1, 8))
                                     .append(")");
  return b_.transaction("create onboarding token", [&](Connection& conn) -> Status {
    auto r =
        conn.execute(sql, "create onboarding token", t.token_hash, t.sensor_name, t.description,
                     t.created_by, t.created_at, t.expires_at, t.used_at, t.used_by_sensor);
    if (!r) return r.error();
    return write_audit(conn, audit);
  });
}

template <class B>
Result<OnboardingToken> SqlStore<B>::find_onboarding_token(std::string_view token_hash) {
  static const std::string sql = std::string("SELECT ")
                                     .append(kTokenColumns)
                                     .append(" FROM onboarding_tokens WHERE token_hash = $1");
  return b_.read([&](Connection& conn) {
    return found_or(conn.fetch_one(sql, "find onboarding token", read_onboarding_token, token_hash),
                    "Onboarding token not found");
  });
}

// The conditional UPDATE is the whole guarantee: of concurrent consumers, exactly one changes the
// row (the others wait for its lock, then find used_at set and match nothing).
template <class B>
Result<OnboardingToken> SqlStore<B>::consume_onboarding_token(std::string_view token_hash,
                                                              std::string_view sensor_id,
                                                              Timestamp now,
                                                              const AuditEntry* audit) {
  static const std::string sql =
      std::string(
          "UPDATE onboarding_tokens SET used_at = $1, used_by_sensor = $2 "
          "WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1 RETURNING ")
          .append(kTokenColumns);
  return b_.transaction(
      "consume onboarding token", [&](Connection& conn) -> Result<OnboardingToken> {
        auto token = conn.fetch_one(sql, "consume onboarding token", read_onboarding_token, now,
                                    sensor_id, token_hash);
        if (!token) return token.error();
        if (!*token)
          return make_error(Errc::unauthorized,
                            "Invalid, expired or already used onboarding token");
        if (auto s = write_audit(conn, audit); !s) return s.error();
        return std::move(**token);
      });
}

template <class B>
Status SqlStore<B>::insert_dead_letters(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return {};
  return b_.transaction("store dead letters", [&](Connection& conn) -> Status {
    for (const auto& l : letters) {
      auto r = conn.execute(
          "INSERT INTO dead_letters (received_at, source, topic, reason, payload) "
          "VALUES ($1, $2, $3, $4, $5)",
          "store dead letters", l.received_at, l.source, l.topic, l.reason, Blob{l.payload});
      if (!r) return r.error();
    }
    return {};
  });
}

template <class B>
Result<std::vector<DeadLetter>> SqlStore<B>::list_dead_letters(int limit) {
  return b_.read([&](Connection& conn) {
    return conn.fetch_all(
        "SELECT id, received_at, source, topic, reason, payload FROM dead_letters "
        "ORDER BY id DESC LIMIT $1",
        "list dead letters",
        [](const auto& row) {
          return DeadLetter{row.i64(0),  row.time(1), row.text(2),
                            row.text(3), row.text(4), row.blob(5)};
        },
        std::max(limit, 0));
  });
}

}  // namespace honeyman::store::detail
