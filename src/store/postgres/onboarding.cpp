// Onboarding tokens and dead letters.
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

constexpr const char* kTokenColumns =
    "token_hash, sensor_name, description, created_by, created_at, expires_at, used_at, "
    "used_by_sensor";

OnboardingToken read_token(const Row& row) {
  return OnboardingToken{row.text(0), row.text(1), row.opt_text(2), row.text(3),
                         row.time(4), row.time(5), row.opt_time(6), row.opt_text(7)};
}

}  // namespace

Status PgStore::create_onboarding_token(const OnboardingToken& t) {
  return with_connection([&](Connection& conn) -> Status {
    auto r = conn.run(std::string("INSERT INTO onboarding_tokens (") + kTokenColumns +
                          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                      Params(t.token_hash, t.sensor_name, t.description, t.created_by, t.created_at,
                             t.expires_at, t.used_at, t.used_by_sensor),
                      "create onboarding token");
    if (!r) return r.error();
    return {};
  });
}

Result<OnboardingToken> PgStore::find_onboarding_token(std::string_view token_hash) {
  return with_connection([&](Connection& conn) -> Result<OnboardingToken> {
    auto rows = conn.run(
        std::string("SELECT ") + kTokenColumns + " FROM onboarding_tokens WHERE token_hash = $1",
        Params(token_hash), "find onboarding token");
    if (!rows) return rows.error();
    if (rows->empty()) return make_error(Errc::not_found, "Onboarding token not found");
    return read_token((*rows)[0]);
  });
}

// The conditional UPDATE is the whole guarantee: of concurrent consumers, exactly one changes the
// row (the others wait for its row lock, then find used_at set and match nothing).
Result<OnboardingToken> PgStore::consume_onboarding_token(std::string_view token_hash,
                                                          std::string_view sensor_id,
                                                          Timestamp now) {
  return with_connection([&](Connection& conn) -> Result<OnboardingToken> {
    auto rows = conn.run(std::string("UPDATE onboarding_tokens SET used_at = $1, "
                                     "used_by_sensor = $2 WHERE token_hash = $3 AND used_at IS "
                                     "NULL AND expires_at > $1 RETURNING ") +
                             kTokenColumns,
                         Params(now, sensor_id, token_hash), "consume onboarding token");
    if (!rows) return rows.error();
    if (rows->empty())
      return make_error(Errc::unauthorized, "Invalid, expired or already used onboarding token");
    return read_token((*rows)[0]);
  });
}

Status PgStore::insert_dead_letters(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return {};
  return transaction("store dead letters", [&](Connection& conn) -> Status {
    for (const auto& l : letters) {
      Params params(l.received_at, l.source, l.topic, l.reason);
      params.add_bytea(l.payload);
      auto r = conn.run(
          "INSERT INTO dead_letters (received_at, source, topic, reason, payload) "
          "VALUES ($1, $2, $3, $4, $5)",
          params, "store dead letters");
      if (!r) return r.error();
    }
    return {};
  });
}

Result<std::vector<DeadLetter>> PgStore::list_dead_letters(int limit) {
  return with_connection([&](Connection& conn) -> Result<std::vector<DeadLetter>> {
    auto rows = conn.run(
        "SELECT id, received_at, source, topic, reason, payload FROM dead_letters "
        "ORDER BY id DESC LIMIT $1",
        Params(std::max(limit, 0)), "list dead letters");
    if (!rows) return rows.error();
    return collect(*rows, [](const Row& row) {
      return DeadLetter{row.i64(0),  row.time(1), row.text(2),
                        row.text(3), row.text(4), row.bytea(5)};
    });
  });
}

}  // namespace honeyman::store::pg
