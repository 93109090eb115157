// metrics: the process's Prometheus metrics (prometheus-cpp core underneath, seen only in
// metrics.cpp). Modules declare the metrics they record next to the code that records them, look
// their labelled series up once and keep the handles; `app` serves scrape() at /metrics.
//
// One process-wide registry: a metric is a fact about the process, and every module records into
// the same exposition (docs/DECISIONS.md "Observability (issue #12)").
//
// Thread-safety: everything here may be called from any thread. Handles are plain pointers to
// series that live as long as the process; copying them is free. A null handle (metrics
// disabled, or a default-constructed one) records nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace honeyman::metrics {

// Recording on or off (METRICS_ENABLED). Call once at start, before any metric is declared;
// when off every handle is null and recording costs one branch.
void set_enabled(bool enabled);
bool enabled();

class Counter {
 public:
  Counter() = default;
  explicit Counter(prometheus::Counter* c) : c_(c) {}
  void inc(double v = 1) const;
  explicit operator bool() const { return c_ != nullptr; }

 private:
  prometheus::Counter* c_ = nullptr;
};

class Gauge {
 public:
  Gauge() = default;
  explicit Gauge(prometheus::Gauge* g) : g_(g) {}
  void set(double v) const;
  void inc(double v = 1) const;
  void dec(double v = 1) const;
  explicit operator bool() const { return g_ != nullptr; }

 private:
  prometheus::Gauge* g_ = nullptr;
};

class Histogram {
 public:
  Histogram() = default;
  explicit Histogram(prometheus::Histogram* h) : h_(h) {}
  void observe(double v) const;
  explicit operator bool() const { return h_ != nullptr; }

 private:
  prometheus::Histogram* h_ = nullptr;
};

using Labels = std::initializer_list<std::pair<std::string, std::string>>;

// A metric with labels. with() finds or creates one series (a mutex and a map lookup inside):
// call it once per label set and keep the handle, not per event.
class CounterFamily {
 public:
  CounterFamily() = default;
  explicit CounterFamily(prometheus::Family<prometheus::Counter>* f) : f_(f) {}
  Counter with(Labels labels) const;

 private:
  prometheus::Family<prometheus::Counter>* f_ = nullptr;
};

class GaugeFamily {
 public:
  GaugeFamily() = default;
  explicit GaugeFamily(prometheus::Family<prometheus::Gauge>* f) : f_(f) {}
  Gauge with(Labels labels) const;

 private:
  prometheus::Family<prometheus::Gauge>* f_ = nullptr;
};

class HistogramFamily {
 public:
  HistogramFamily() = default;
  HistogramFamily(prometheus::Family<prometheus::Histogram>* f, std::vector<double> buckets)
      : f_(f), buckets_(std::move(buckets)) {}
  Histogram with(Labels labels) const;

 private:
  prometheus::Family<prometheus::Histogram>* f_ = nullptr;
  std::vector<double> buckets_;
};

// Declares (or finds, by name) a metric. Names follow Prometheus conventions (honeyman_...,
// _total for counters, base units _seconds/_bytes); `help` is one line.
CounterFamily counter(const std::string& name, const std::string& help);
GaugeFamily gauge(const std::string& name, const std::string& help);
HistogramFamily histogram(const std::string& name, const std::string& help,
                          std::vector<double> buckets);

// Bucket sets shared by the latency histograms (seconds) and the batch-size histogram.
std::vector<double> latency_buckets();  // 0.5 ms .. 10 s
std::vector<double> size_buckets();     // 1 .. 10,000

// A series read at scrape time from state the code keeps anyway (its own counters, a connection
// flag, pool occupancy): nothing on the recording path. `read` runs on the scraping thread, must
// be cheap, must not block, and is not called once the Watch is destroyed (destroy it before
// what `read` reads). Names must differ from the declared metrics'. Labels are fixed per Watch.
enum class Kind { counter, gauge };
class Watch {
 public:
  Watch() = default;
  Watch(std::string name, std::string help, Kind kind, std::function<double()> read,
        std::vector<std::pair<std::string, std::string>> labels = {});
  ~Watch();
  Watch(Watch&& other) noexcept;
  Watch& operator=(Watch&& other) noexcept;
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

 private:
  std::uint64_t id_ = 0;
};

// The exposition (text format 0.0.4) of every metric, plus the process metrics read from /proc
// at this moment (process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
// process_max_fds, process_start_time_seconds, process_threads).
std::string scrape();
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace honeyman::metrics
